// Types for cluster-key-slot (ioredis's own CRC16 of Redis Cluster; the package ships none).
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0–16383) of a key, honouring its `{hash tag}`. */
  function generate(key: string): number;
  export default generate;
}
