"""`python -m tools.smoke` (`make smoke STACK=…`): the post-deploy verification of a stack's
live edge — health endpoints, redirects, TLS, security headers, CORS and caching — as the
deployment guides' "post-deployment verification" asks, run after every `pulumi up`.

Usage
-----
    make smoke STACK=staging                       # reads the stack's outputs
    make smoke STACK=prod SMOKE_ARGS=--markdown    # a table for $GITHUB_STEP_SUMMARY
    python -m tools.smoke --api-url https://api.example.com --frontend-url https://example.com \\
        --allowed-origin https://example.com [--ca-bundle private-ca.pem] [--json]

`--stack NAME` runs `pulumi stack output --json --stack NAME` in the project directory and
takes `apiUrl`, `frontendUrl` and `allowedOrigins` from it (none is secret, so no
`--show-secrets`; it needs the CLI logged in to the stack's backend, and a Pulumi CLI older
than the fix for pulumi/pulumi#21141 also wants `PULUMI_CONFIG_PASSPHRASE` on a passphrase-
encrypted stack). `--api-url`, `--frontend-url` and `--allowed-origin` (repeatable) override
those outputs or, without `--stack`, replace them. With `edge.ingress: cloudfront` (or `cidrs`)
the ALB behind `apiUrl` does not answer the runner: pass `--api-url https://<domain>`, where
CloudFront serves `/api/*` (`edge.apiViaCdn`).

`--ca-bundle PEM` trusts that bundle instead of the system's store (a private CA).
`--connect-to HOST:PORT:ADDR:PORT` (repeatable, curl's option) opens connections for HOST:PORT
to ADDR:PORT while SNI, certificate verification and `Host` still say HOST: a host can be
checked before DNS points at it, and the tests point real-looking names at 127.0.0.1 without
DNS. `--timeout S` bounds every connect, handshake and read (default 10 s); `--retries N`
(default 2, linear backoff from `--retry-delay`, default 1 s) retries connection errors,
timeouts and 502/503/504 — what a rolling deploy can cause; a TLS verdict is never retried.
`--assets-prefix` is where the content-hashed files live (default: the frontend's `/assets/`);
`--cors-path` is the API path the CORS preflights go to (default `/api/live`; pick one the
app's CORS handling covers if it leaves its health routes out).
HTTP and TLS use the standard library (http.client, ssl); tools/smoke/client.py says why.

The checks
----------
One line per check: ✓ (pass), ✗ (fail) or – (skipped: cannot be asked from this machine), its
name and what was seen. `api`, `frontend` and `www` are the API origin, the apex and
`www.<apex>`.

- `api.live`, `api.ready`, `api.health`: `GET <api>/api/<name>` answers 200. Where the body is
  a JSON object, its `status` must be healthy/ok/pass/up and its `database` / `redis` fields
  (the guides' `{"status": "healthy", "database": "connected", "redis": "connected"}`) must say
  connected or ok (a field may also be an object with a `status`); absent fields are not asked.
- `<host>.http-redirect` for api, frontend and www: `http://<host>/<path>?<query>` answers 301
  to `https://<host>/<path>?<query>` (an explicit `:443`, as the ALB writes it, is the same).
- `www.redirect`: `https://www.<apex>/<path>?<query>` answers 301 to `https://<apex>/<path>?<query>`.
- `<host>.tls`: a handshake with TLS 1.2 or newer and a certificate that chains to the trusted
  bundle and is valid (dates and name) for the host; the version and expiry date are shown.
- `<host>.tls-legacy`: a ClientHello offering only TLS 1.0/1.1 is refused (skipped when this
  machine's OpenSSL cannot offer them).
- `api.hsts`, `frontend.hsts`: `Strict-Transport-Security` with `max-age` >= 31536000 and
  `includeSubDomains`; `.nosniff`: `X-Content-Type-Options: nosniff`; `.frame-options`:
  `X-Frame-Options: DENY`; `.csp`: a non-empty `Content-Security-Policy` — on the API's
  `/api/live` and the frontend's `/` (the ALB and CloudFront add them to every response).
- `api.cors-allowed[<origin>]` per allowed origin: a preflight (`OPTIONS <cors-path>` with
  `Origin` and `Access-Control-Request-Method: GET`) answers 2xx with
  `Access-Control-Allow-Origin: <origin>`.
- `api.cors-foreign`: preflights from an unrelated origin and from one that only starts with
  an allowed origin (`https://example.com.smoke-….invalid`) get neither their origin nor `*`.
- `api.cors-no-wildcard`, `frontend.cors-no-wildcard`: `Access-Control-Allow-Origin: *` in none
  of a preflight from an allowed origin, one from a foreign origin, and a cross-origin GET.
- `frontend.index-cache`: `GET <apex>/` (index.html) answers 200 with `Cache-Control` `no-cache`
  or `no-store`.
- `frontend.asset-cache`: the first same-origin `<script src>` / `<link href>` of index.html
  under the assets prefix answers 200 with `immutable` and `max-age` >= 31536000 (index.html
  loading no such file is a failure: the promise cannot be seen).

Output and exit status
----------------------
Text (default, one line per check as it completes, then a summary line), `--markdown` (a table
for a GitHub job summary) or `--json`:

    {
     "format": 1,
     "ok": false,                               # no check failed (skips do not count)
     "summary": {"passed": 27, "failed": 1, "skipped": 0},
     "target": {"api": "https://api.example.com", "frontend": "https://example.com",
                "www": "https://www.example.com", "allowedOrigins": ["https://example.com"],
                "assetsPrefix": "/assets/", "corsPath": "/api/live"},
     "checks": [{"name": "api.live", "status": "pass",   # pass | fail | skip
                 "seen": "200 OK", "url": "https://api.example.com/api/live"}, ...]
    }

Exit 0 when no check failed, 1 when one did, 2 on bad usage or stack outputs that cannot be
read (nothing was checked; the message says which flag or output).
"""
