"""User-supplied server URLs: https only and nothing private, for every resolved address."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from django.test import override_settings

from publishing.urlsafety import UnsafeURL, address_is_public, check_server_url


def fake_resolver(addresses):
    def getaddrinfo(host, port, *args, **kwargs):
        if addresses is None:
            raise socket.gaierror("no such host")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    return getaddrinfo


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2a00:1450:4001:80b::200e", True),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),  # reserved
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),  # IPv4-mapped private
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("2002:0a00:0001::1", False),  # 6to4 of 10.0.0.1
    ],
)
def test_given_address_when_judged_then_public_only_if_global(address, public):
    assert address_is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mastodon.social", "https://mastodon.social"),
        ("https://Mastodon.Social/", "https://mastodon.social"),
        ("https://blog.example.com/news/", "https://blog.example.com/news"),
        ("https://example.com:8443", "https://example.com:8443"),
    ],
)
def test_given_public_host_when_checked_then_normalized(monkeypatch, url, expected):
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver(["93.184.216.34"]))

    assert check_server_url(url) == expected


@pytest.mark.parametrize(
    ("url", "addresses", "message"),
    [
        ("http://mastodon.social", ["93.184.216.34"], "must start with https://"),
        ("ftp://mastodon.social", ["93.184.216.34"], "must start with https://"),
        ("https://intranet.example", ["10.1.2.3"], "not on the public internet"),
        ("https://mixed.example", ["93.184.216.34", "127.0.0.1"], "not on the public internet"),
        ("https://v6.example", ["2a00:1450::1", "fe80::1%eth0"], "not on the public internet"),
        ("https://127.0.0.1", [], "not on the public internet"),
        ("https://[::1]:8443", [], "not on the public internet"),
        ("https://169.254.169.254/latest", [], "not on the public internet"),
        ("https://nowhere.invalid", None, "could not be found"),
        ("https://user:pw@example.com", ["93.184.216.34"], "not a valid server address"),
        ("https://example.com:99999", ["93.184.216.34"], "not a valid server address"),
        ("", ["93.184.216.34"], "Enter the address"),
    ],
)
def test_given_unsafe_url_when_checked_then_refused(monkeypatch, url, addresses, message):
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver(addresses))

    with pytest.raises(UnsafeURL, match=message):
        check_server_url(url)


@override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=True)
def test_given_private_urls_allowed_when_checked_then_local_http_accepted(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver(None))  # never resolved

    assert check_server_url("http://127.0.0.1:8765/") == "http://127.0.0.1:8765"
