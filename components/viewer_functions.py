"""The JavaScript of the distribution's CloudFront Functions (cloudfront-js-2.0, viewer request).

Every path on `www.<domain>` answers 301 to the apex, keeping path and query: the default
behaviour's function also rewrites client-side routes (extension-less paths) to `/index.html`;
the other behaviours' function only redirects. The tests run both under node.
"""

from __future__ import annotations

# A 301 from `www.<domain>` to the apex keeping path and query, or null for any other host.
_WWW_REDIRECT_JS = """\
function wwwRedirect(request) {
  var host = request.headers.host ? request.headers.host.value : '';
  if (host !== 'www.%(domain)s') {
    return null;
  }
  var query = [];
  for (var key in request.querystring) {
    var item = request.querystring[key];
    var values = item.multiValue ? item.multiValue : [item];
    for (var i = 0; i < values.length; i++) {
      query.push(values[i].value === '' ? key : key + '=' + values[i].value);
    }
  }
  var location = 'https://%(domain)s' + request.uri + (query.length ? '?' + query.join('&') : '');
  return {
    statusCode: 301,
    statusDescription: 'Moved Permanently',
    headers: { location: { value: location } }
  };
}
"""

VIEWER_REQUEST_JS = (
    _WWW_REDIRECT_JS
    + """
function handler(event) {
  var request = event.request;
  var redirect = wwwRedirect(request);
  if (redirect) {
    return redirect;
  }
  var last = request.uri.substring(request.uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
"""
)

# The other behaviours (`/assets/*`, `/api/*`) only redirect www: their paths are never
# rewritten, so a missing asset or an API error reaches the browser as it is.
WWW_REDIRECT_JS = (
    _WWW_REDIRECT_JS
    + """
function handler(event) {
  return wwwRedirect(event.request) || event.request;
}
"""
)


def viewer_request_code(domain: str) -> str:
    """The default behaviour's CloudFront Function: www -> apex, SPA routes -> /index.html."""
    return VIEWER_REQUEST_JS % {"domain": domain}


def www_redirect_code(domain: str) -> str:
    """The other behaviours' CloudFront Function: www -> apex, nothing else."""
    return WWW_REDIRECT_JS % {"domain": domain}
