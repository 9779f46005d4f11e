"""A small Vite-like frontend build for the tests: entry files at the top, hashed assets below."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import write_files

# What `npm run build` of a Vite app writes: its hashed bundles (Rollup's 8-character base64url
# hashes), a source map, a lazy chunk, a font and an image under assets/, and the files of
# `public/` copied as they are to the top.
VITE_BUILD = {
    "index.html": '<!doctype html><script type="module" src="/assets/index-C3ZDoKtq.js">',
    "assets/index-C3ZDoKtq.js": "import './vendor-BDvB1qOM.js';\n",
    "assets/index-C3ZDoKtq.js.map": "{}\n",
    "assets/vendor-BDvB1qOM.js": "export {};\n",
    "assets/Settings-x_9-aB3c.js": "export default 1;\n",
    "assets/index-DiwrgTda.css": "body{}\n",
    "assets/Inter-Regular-Cf2L1n0m.woff2": "woff2\n",
    "assets/logo-Bx1zJ8Kp.svg": "<svg/>\n",
    "assets/engine-QkT2mXe8.wasm": "wasm\n",
    "favicon.ico": "ico\n",
    "robots.txt": "User-agent: *\n",
    "manifest.webmanifest": "{}\n",
    "sw.mjs": "self;\n",
}
HASHED = sorted(k for k in VITE_BUILD if k.startswith("assets/"))
ENTRY = sorted(k for k in VITE_BUILD if not k.startswith("assets/"))


def vite_build(directory: Path, extra: dict[str, str] | None = None) -> Path:
    """Write the build (with `extra` files) into `directory`; return it."""
    return write_files(directory, {**VITE_BUILD, **(extra or {})})
