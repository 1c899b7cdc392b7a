"""Format specifications (pyparsing), the reference parser, cache-status classes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from loggest.formats import PRESETS, FormatError, resolve_format
from loggest.formats.cache_status import cache_class
from loggest.formats.convert import LineError
from loggest.formats.model import COL, Field, Literal
from loggest.formats.specs import parse_apache, parse_nginx
from tests.loggest.samples import CLOUDFRONT, COMBINED, NGINX_CDN, W3C


def kinds(tokens: object) -> list[str]:
    return [t.kind for t in tokens if isinstance(t, Field)]  # type: ignore[attr-defined]


def rec(row: list[object]) -> dict[str, object]:
    return {name: row[i] for name, i in COL.items()}


def test_apache_combined_spec() -> None:
    tokens = parse_apache('%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"')
    assert kinds(tokens) == ["client", "skip", "skip", "clf_time", "request", "status", "bytes", "referer",
                             "user_agent"]
    assert tokens[5] == Literal(" [") and tokens[7] == Literal('] "')


def test_apache_config_line_with_escapes_and_modifiers() -> None:
    tokens = parse_apache(r'LogFormat "%v %a %400,501{User-Agent}i \"%r\" %<s %{ms}T %{us}T %%" vhost')
    assert kinds(tokens) == ["host", "client", "user_agent", "request", "status", "tt_ms", "tt_us"]
    assert tokens[-1] == Literal(" %")


def test_varnishncsa_directives() -> None:
    assert kinds(parse_apache("%h %{Varnish:handling}x %{Varnish:time_firstbyte}x %{X-Cache}o %D")) == [
        "client", "cache", "tt_s", "cache", "tt_us"]


@pytest.mark.parametrize(("spec", "message"), [
    ("%h %Z", "unknown directive %Z"),
    ("%h%u", "no separator"),
    ("%{%Y}t %h", "custom time formats"),
    ("%{xx}T %h", "unit must be"),
    ("just text", "no field"),
    ("%h %{Referer", "cannot parse"),
])
def test_apache_errors_say_what(spec: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_apache(spec)


def test_nginx_directive_with_concatenated_strings() -> None:
    spec = ("log_format cdn escape=default '$remote_addr - $remote_user [$time_local] \"$request\" '\n"
            "    '$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" ${upstream_cache_status} "
            "$request_time $msec $pipe';")
    tokens = parse_nginx(spec)
    assert kinds(tokens) == ["client", "skip", "clf_time", "request", "status", "bytes", "referer", "user_agent",
                             "cache", "tt_s", "msec", "skip"]


def test_nginx_lone_dollar_is_literal() -> None:
    assert kinds(parse_nginx("$remote_addr $ $status")) == ["client", "status"]


def test_resolve_format_variants() -> None:
    assert resolve_format("combined").has_host is False
    assert resolve_format("nginx-cdn").has_host is True
    assert resolve_format("w3c").has_host is None
    assert resolve_format("apache:%h %t %>s").notation == "apache"
    assert resolve_format("$host $remote_addr [$time_local] $status").notation == "nginx"
    for name in PRESETS:
        resolve_format(name)
    with pytest.raises(FormatError, match="unknown log format"):
        resolve_format("iis")


def test_combined_reference_parse() -> None:
    p = resolve_format("combined").parser("www.a.fr")
    r = rec(p.parse(COMBINED[0]))  # type: ignore[arg-type]
    assert r["time"] == datetime(2027, 10, 10, 20, 55, 36, tzinfo=UTC) and r["tz_offset"] == -420
    assert (r["method"], r["path"], r["query"], r["protocol"]) == ("GET", "/apache_pb.gif", "x=1&y=2", "HTTP/1.0")
    assert (r["status"], r["bytes"], r["site"]) == (200, 2326, "www.a.fr")
    assert r["referer"] == "http://www.example.com/start.html"
    # fields absent from the format are NULL, never invented
    assert r["cache_status"] is None and r["cache_class"] is None and r["time_taken_us"] is None
    r = rec(p.parse(COMBINED[1]))  # type: ignore[arg-type]
    assert (r["client"], r["bytes"], r["referer"], r["tz_offset"]) == ("2001:db8::1", 0, None, 120)
    assert rec(p.parse(COMBINED[2]))["user_agent"] == 'Mozilla \\"quoted\\" UA'  # type: ignore[arg-type]
    probe = rec(p.parse(COMBINED[3]))  # type: ignore[arg-type]
    assert (probe["method"], probe["path"], probe["status"]) == (None, None, 400)
    old = rec(p.parse(COMBINED[5]))  # type: ignore[arg-type]
    assert (old["method"], old["path"], old["protocol"]) == ("GET", "/old", None)


@pytest.mark.parametrize(("line", "reason"), [
    (COMBINED[6], "does not match the format"),
    (COMBINED[7], "^%s: '2x0' is not an HTTP status"),
    (COMBINED[8], "^%t: '31/Feb/2027:13:55:41 [+]0000' is not a valid time$"),
    (COMBINED[9], "^%t: '10/Foo/2027:13:55:41 [+]0000' is not a valid time$"),
    (COMBINED[10], "^%b: 'ten' is not a byte count$"),
    (COMBINED[11], "does not match the format"),
    (COMBINED[18], "^%t: '10/Oct/1969:13:55:46 [+]0000' is not a valid time$"),
])
def test_combined_bad_lines_have_reasons(line: str, reason: str) -> None:
    with pytest.raises(LineError, match=reason):
        resolve_format("combined").parser("www.a.fr").parse(line)


def test_nginx_cdn_host_cache_and_time_taken() -> None:
    p = resolve_format("nginx-cdn").parser()
    r = rec(p.parse(NGINX_CDN[0]))  # type: ignore[arg-type]
    assert (r["site"], r["cache_status"], r["cache_class"], r["time_taken_us"]) == (
        "www.interieur.gouv.fr", "HIT", "hit", 12_000)
    assert rec(p.parse(NGINX_CDN[1]))["cache_class"] == "miss"  # type: ignore[arg-type]
    r = rec(p.parse(NGINX_CDN[2]))  # type: ignore[arg-type]
    assert (r["cache_status"], r["cache_class"], r["time_taken_us"]) == (None, "unknown", None)
    with pytest.raises(LineError, match="no site"):
        p.parse(NGINX_CDN[3])
    assert rec(resolve_format("nginx-cdn").parser("fallback.fr").parse(NGINX_CDN[3]))["site"] == "fallback.fr"  # type: ignore[arg-type]
    r = rec(p.parse(NGINX_CDN[4]))  # type: ignore[arg-type]
    assert (r["cache_status"], r["cache_class"], r["time_taken_us"]) == ("weird", "unknown", 1)
    with pytest.raises(LineError, match=r"^\$request_time: '1e3' is not a duration$"):
        p.parse(NGINX_CDN[5])
    with pytest.raises(LineError, match="is not a duration"):
        p.parse(NGINX_CDN[6])
    assert rec(p.parse(NGINX_CDN[7]))["cache_class"] == "hit"  # type: ignore[arg-type]


def test_w3c_fields_change_mid_file() -> None:
    p = resolve_format("w3c").parser()
    out = []
    for line in W3C:
        try:
            out.append(p.parse(line))
        except LineError as exc:
            out.append(str(exc))
    assert out[:4] == [None, None, None, None]
    first = rec(out[4])  # type: ignore[arg-type]
    assert (first["site"], first["path"], first["query"], first["time_taken_us"], first["cache_class"]) == (
        "www.a.fr", "/index.html", None, 10_000, "hit")
    assert first["time"] == datetime(2027, 4, 25, 0, 0, 1, tzinfo=UTC) and first["tz_offset"] == 0
    assert rec(out[5])["query"] == "q=x"  # type: ignore[arg-type]
    assert out[6] == "5 values for 13 #Fields"
    assert out[7] is None
    assert out[8] == "no site: the line has no host (host field '-' or absent, no absolute URL) and no --site was given"
    p = resolve_format("w3c").parser("www.b.fr")
    rows = [p.parse(x) for x in W3C[:6] + W3C[7:9]]
    after = rec(rows[-1])  # type: ignore[arg-type]
    assert (after["site"], after["path"], after["status"], after["user_agent"]) == (
        "www.b.fr", "/after-change", 301, None)
    with pytest.raises(LineError, match=r"^date time: '2027-02-30 00:00:05' is not a valid date and time$"):
        p.parse(W3C[9])


def test_w3c_data_before_fields_is_refused_line() -> None:
    with pytest.raises(LineError, match="before any #Fields"):
        resolve_format("w3c").parser("a.fr").parse("2027-04-25 00:00:01 192.0.2.1")


def test_cloudfront_standard_log() -> None:
    p = resolve_format("cloudfront").parser()
    assert p.parse(CLOUDFRONT[0]) is None and p.parse(CLOUDFRONT[1]) is None
    r = rec(p.parse(CLOUDFRONT[2]))  # type: ignore[arg-type]
    assert (r["site"], r["edge"], r["cache_class"], r["protocol"], r["bytes"], r["time_taken_us"]) == (
        "www.example.gouv.fr", "CDG50-C1", "hit", "HTTP/2.0", 2390, 1000)
    r = rec(p.parse(CLOUDFRONT[3]))  # type: ignore[arg-type]
    assert (r["client"], r["query"], r["cache_class"], r["status"]) == ("2001:db8::7", "a=b", "error", 502)


@pytest.mark.parametrize(("value", "cls"), [
    ("HIT", "hit"), ("hit", "hit"), ("STALE", "hit"), ("UPDATING", "hit"), ("REVALIDATED", "hit"),
    ("TCP_HIT", "hit"), ("TCP_MEM_HIT", "hit"), ("Hit", "hit"), ("RefreshHit", "hit"),
    ("MISS", "miss"), ("EXPIRED", "miss"), ("TCP_MISS", "miss"), ("Miss", "miss"),
    ("PASS", "pass"), ("BYPASS", "pass"), ("pipe", "pass"),
    ("Error", "error"), ("LimitExceeded", "error"), ("CapacityExceeded", "error"), ("Redirect", "hit"),
    ("OriginShieldHit", "hit"), ("ClientHungUpRequest", "error"), (" hit ", "hit"),
    ("teapot", "unknown"), (None, "unknown"), ("hıt", "unknown"),
])
def test_cache_classes(value: str | None, cls: str) -> None:
    assert cache_class(value) == cls


def test_absent_fields_are_null_for_clf() -> None:
    r = rec(resolve_format("clf").parser("a.fr").parse(  # type: ignore[arg-type]
        '192.0.2.1 - - [10/Oct/2027:13:55:36 -0700] "GET / HTTP/1.0" 200 1'))
    assert r["referer"] is None and r["user_agent"] is None and r["edge"] is None
