// examples/serve-mirror.mjs: the cache as a registry mirror in your own server. Against a registry of yours
// holding team/app:1.0: `REGISTRY=localhost:5000 node examples/serve-mirror.mjs` (the tests run it so).
import http from 'node:http';
import { FileMoteCache } from 'motecache';
import { createMirror } from 'motecache/serve';

const host = process.env.REGISTRY ?? 'registry.example.com';
const store = new FileMoteCache(`${process.env.HOME}/.cache/motecache`);
const mirror = createMirror({
  store,
  upstreams: [{ url: `http://${host}` }], // one upstream: names as they are (distribution's proxy.remoteurl)
  tagMaxAgeMs: 60_000, // a tag is revalidated upstream (one HEAD) once its answer is a minute old
  onAccess: (entry) => {}, // one object per request: log it as JSON
});
const server = http.createServer(mirror.handler).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

// Any OCI client can now pull through `base` (skopeo, podman, containerd, docker's registry-mirrors).
const res = await fetch(`${base}/v2/team/app/manifests/1.0`, {
  headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
});
const layer = JSON.parse(await res.text()).layers[0].digest;
const blob = await fetch(`${base}/v2/team/app/blobs/${layer}`); // streamed as it downloads, then cached
console.log(res.headers.get('docker-content-digest'), (await blob.arrayBuffer()).byteLength, await store.moteExists(layer));

server.close();
await mirror.close();
await store.close();
