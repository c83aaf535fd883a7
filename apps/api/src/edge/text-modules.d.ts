// The dashboard's files, imported as text by the edge bundle (wrangler.toml [[rules]]).
declare module '*/public/index.html' {
  const text: string;
  export default text;
}
declare module '*/public/dashboard.js' {
  const text: string;
  export default text;
}
declare module '*/public/dashboard.css' {
  const text: string;
  export default text;
}
