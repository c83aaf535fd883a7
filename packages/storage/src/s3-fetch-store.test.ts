import { describe, expect, it } from 'vitest';
import { decodeXmlText, parseListObjectsV2 } from './s3-fetch-store.js';

const page = (contents: string, tail = '<IsTruncated>false</IsTruncated>') =>
  '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
  `<Name>b</Name>${contents}${tail}</ListBucketResult>`;

describe('parseListObjectsV2', () => {
  it('reads every key, decoding XML entities', () => {
    const xml = page(
      '<Contents><Key>jobs/a&amp;b/x.json</Key><Size>3</Size></Contents>' +
        '<Contents><ETag>&quot;e&quot;</ETag><Key>jobs/&#x41;&#66;</Key></Contents>',
    );
    expect(parseListObjectsV2(xml)).toEqual({ keys: ['jobs/a&b/x.json', 'jobs/AB'] });
  });

  it('returns the next page token only when truncated', () => {
    const xml = page(
      '<Contents><Key>k</Key></Contents>',
      '<IsTruncated>true</IsTruncated><NextContinuationToken>1/ab+c=</NextContinuationToken>',
    );
    expect(parseListObjectsV2(xml)).toEqual({ keys: ['k'], nextToken: '1/ab+c=' });
    expect(parseListObjectsV2(page(''))).toEqual({ keys: [] });
  });

  it('refuses an answer that is not a listing, or a truncated one without a token', () => {
    expect(() => parseListObjectsV2('<Error><Code>AccessDenied</Code></Error>')).toThrow(/not a ListObjectsV2 answer/);
    expect(() => parseListObjectsV2(page('', '<IsTruncated>true</IsTruncated>'))).toThrow(
      /without a NextContinuationToken/,
    );
  });

  it('leaves unknown entities alone', () => {
    expect(decodeXmlText('a&nbsp;b&lt;')).toBe('a&nbsp;b<');
  });
});
