"""Hand-written log lines for the format tests, with the tricky cases of real logs."""

from __future__ import annotations

COMBINED = [
    '192.0.2.1 - - [10/Oct/2027:13:55:36 -0700] "GET /apache_pb.gif?x=1&y=2 HTTP/1.0" 200 2326 '
    '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"',
    '2001:db8::1 - frank [10/Oct/2027:13:55:36 +0200] "POST /form HTTP/2.0" 302 - "-" "curl/8.0"',
    # escaped quotes inside the user agent (Apache writes \")
    '192.0.2.2 - - [10/Oct/2027:13:55:37 +0000] "GET / HTTP/1.1" 200 10 "-" "Mozilla \\"quoted\\" UA"',
    # request line that is not a request (TLS probe): kept, method/path/protocol NULL
    '192.0.2.3 - - [10/Oct/2027:13:55:38 +0000] "\\x16\\x03\\x01" 400 0 "-" "-"',
    '192.0.2.4 - - [10/Oct/2027:13:55:39 +0000] "-" 408 0 "-" "-"',
    # HTTP/0.9 style, no protocol
    '192.0.2.5 - - [10/Oct/2027:13:55:40 +0000] "GET /old" 200 5 "-" "-"',
    # bad lines
    'garbage',
    '192.0.2.6 - - [10/Oct/2027:13:55:41 +0000] "GET / HTTP/1.1" 2x0 10 "-" "-"',
    '192.0.2.7 - - [31/Feb/2027:13:55:41 +0000] "GET / HTTP/1.1" 200 10 "-" "-"',
    '192.0.2.8 - - [10/Foo/2027:13:55:41 +0000] "GET / HTTP/1.1" 200 10 "-" "-"',
    '192.0.2.9 - - [10/Oct/2027:13:55:41 +0000] "GET / HTTP/1.1" 200 ten "-" "-"',
    '192.0.2.10 - - [10/Oct/2027:13:55:41 +0000] "GET / HTTP/1.1" 200 10 "-"',
    '',
    # NUL byte and tab inside a user agent, CRLF ending
    '192.0.2.11 - - [10/Oct/2027:13:55:42 +0000] "GET /nul HTTP/1.1" 200 1 "-" "a\x00b\tc"',
    '192.0.2.12 - - [10/Oct/2027:13:55:43 +0000] "GET /crlf HTTP/1.1" 200 1 "-" "-"\r',
    # unicode in the path, extra spaces in the request
    '192.0.2.13 - - [10/Oct/2027:13:55:44 +0000] "GET /été/ça HTTP/1.1" 200 1 "-" "Ünïcode"',
    '192.0.2.14 - - [10/Oct/2027:13:55:45 +0000] "GET /a b HTTP/1.1" 200 1 "-" "-"',
    # a backslash at the end of a quoted field
    '192.0.2.15 - - [10/Oct/2027:13:55:46 +0000] "GET /x HTTP/1.1" 200 1 "-" "ends with \\\\"',
    # year out of range
    '192.0.2.16 - - [10/Oct/1969:13:55:46 +0000] "GET /x HTTP/1.1" 200 1 "-" "-"',
]

NGINX_CDN = [
    '192.0.2.1 - - [25/Apr/2027:21:00:00 +0200] "GET /resultats/ HTTP/2.0" 200 512 "-" "UA" '
    '"WWW.Interieur.Gouv.FR:443" HIT 0.012',
    '192.0.2.2 - - [25/Apr/2027:21:00:01 +0200] "GET /a HTTP/1.1" 200 512 "-" "UA" "www.a.fr" EXPIRED 1.5',
    '192.0.2.3 - - [25/Apr/2027:21:00:02 +0200] "GET /a HTTP/1.1" 200 512 "-" "UA" "www.a.fr" - -',
    '192.0.2.4 - - [25/Apr/2027:21:00:03 +0200] "GET /a HTTP/1.1" 200 512 "-" "UA" "-" BYPASS 2',
    '192.0.2.5 - - [25/Apr/2027:21:00:04 +0200] "GET /a HTTP/1.1" 200 512 "-" "UA" "www.a.fr" weird 0.000001',
    '192.0.2.6 - - [25/Apr/2027:21:00:05 +0200] "GET /a HTTP/1.1" 200 512 "-" "UA" "www.a.fr" HIT 1e3',
    '192.0.2.7 - - [25/Apr/2027:21:00:06 +0200] "GET /a HTTP/1.1" 200 512 "-" "UA" "www.a.fr" HIT 0.5 extra',
    '192.0.2.8 - - [25/Apr/2027:21:00:07 +0200] "GET /a HTTP/1.1" 200 512 "-" "UA" "www.a.fr" stale 12.25',
]

W3C = [
    "#Software: cdnctl",
    "#Version: 1.0",
    "#Date: 2027-04-25 00:00:00",
    "#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status sc-bytes time-taken cs(User-Agent) "
    "cs(Referer) x-cache-status cs-host",
    "2027-04-25 00:00:01 192.0.2.1 GET /index.html - 200 1024 0.010 Mozilla/5.0+(X11) - HIT www.a.fr",
    "2027-04-25 00:00:02 192.0.2.2 GET /search q=x 404 0 0.2 - https://www.a.fr/ MISS www.a.fr",
    "2027-04-25 00:00:03 192.0.2.3 GET /short",
    "#Fields: date time c-ip cs-method cs-uri-stem sc-status",
    "2027-04-25 00:00:04 192.0.2.4 GET /after-change 301",
    "2027-02-30 00:00:05 192.0.2.5 GET /bad-date 200",
]

CLOUDFRONT_FIELDS = ("date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status "
                     "cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id "
                     "x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher "
                     "x-edge-response-result-type cs-protocol-version")
CLOUDFRONT = [
    "#Version: 1.0",
    "#Fields: " + CLOUDFRONT_FIELDS,
    "\t".join(["2027-04-25", "01:02:03", "CDG50-C1", "2390", "192.0.2.100", "GET", "d111111abcdef8.cloudfront.net",
               "/index.html", "200", "-", "Mozilla/5.0%20(Windows)", "-", "-", "Hit", "SOX4x==",
               "www.example.gouv.fr", "https", "23", "0.001", "-", "TLSv1.3", "TLS_AES_128_GCM_SHA256", "Hit",
               "HTTP/2.0"]),
    "\t".join(["2027-04-25", "01:02:04", "CDG50-C1", "0", "2001:db8::7", "GET", "d111111abcdef8.cloudfront.net",
               "/missing", "502", "-", "curl/8", "a=b", "-", "Error", "x==", "www.example.gouv.fr", "https",
               "10", "0.250", "-", "TLSv1.3", "-", "Error", "HTTP/1.1"]),
]
