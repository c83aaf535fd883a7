// Stands in for Node's `crypto` in the edge bundle (wrangler.toml [alias]): tweetnacl only
// requires it where Web Crypto is missing, which is never the case in a Worker.
export default {};
