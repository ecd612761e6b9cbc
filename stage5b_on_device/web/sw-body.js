// The service worker: keeps every file of the app in a cache so it works with no network.
// web_app.py writes sw.js as two generated lines, BUILD (a digest of the app's files: a new
// build is a new worker and a new cache) and FILES (everything SHA256SUMS lists), then this body.

const CACHE = `offline-classifier-${BUILD}`;

self.addEventListener("install", (event) => {
  // cache: "reload" skips the HTTP cache, so a new build never caches an older file.
  event.waitUntil(caches.open(CACHE).then((cache) =>
    cache.addAll(["./", ...FILES].map((url) => new Request(url, { cache: "reload" }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names
      .filter((name) => name.startsWith("offline-classifier-") && name !== CACHE)
      .map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

// Cache first: the cached files are exactly the build's files. Only this origin is answered;
// the page's Content-Security-Policy forbids every other one anyway.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  event.respondWith(caches.open(CACHE).then(async (cache) =>
    (await cache.match(event.request, { ignoreSearch: true }))
    ?? (event.request.mode === "navigate" ? await cache.match("./") : undefined)
    ?? fetch(event.request)));
});
