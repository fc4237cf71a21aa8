"""The `request.cf` object a request gets locally.

`wrangler dev` offline gives every incoming request the same fallback `cf` object (a Cloudflare
location in Austin, Texas); pyflare gives the same values, so code that reads `request.cf.country`
or `request.cf.colo` runs. A fresh copy per request, so a worker that changes it changes only its
own.
"""

from __future__ import annotations

import copy
from typing import Any

from .jsobject import JsObject

__all__ = ["default_cf"]

_DEFAULT: dict[str, Any] = {
    "asOrganization": "",
    "asn": 395747,
    "colo": "DFW",
    "city": "Austin",
    "region": "Texas",
    "regionCode": "TX",
    "metroCode": "635",
    "postalCode": "78701",
    "country": "US",
    "continent": "NA",
    "timezone": "America/Chicago",
    "latitude": "30.27130",
    "longitude": "-97.74260",
    "clientTcpRtt": 0,
    "httpProtocol": "HTTP/1.1",
    "requestPriority": "weight=192;exclusive=0",
    "tlsCipher": "AEAD-AES128-GCM-SHA256",
    "tlsVersion": "TLSv1.3",
    "tlsClientAuth": {
        "certPresented": "0",
        "certVerified": "NONE",
        "certRevoked": "0",
        "certIssuerDN": "",
        "certSubjectDN": "",
        "certIssuerDNRFC2253": "",
        "certSubjectDNRFC2253": "",
        "certIssuerDNLegacy": "",
        "certSubjectDNLegacy": "",
        "certSerial": "",
        "certIssuerSerial": "",
        "certSKI": "",
        "certIssuerSKI": "",
        "certFingerprintSHA1": "",
        "certFingerprintSHA256": "",
        "certNotBefore": "",
        "certNotAfter": "",
    },
    "edgeRequestKeepAliveStatus": 0,
    "clientTrustScore": 99,
    "botManagement": {
        "corporateProxy": False,
        "verifiedBot": False,
        "ja3Hash": "25b4882c2bcb50cd6b469ff28c596742",
        "staticResource": False,
        "detectionIds": [],
        "score": 99,
    },
}


def _js(value: Any) -> Any:
    if isinstance(value, dict):
        return JsObject((k, _js(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_js(v) for v in value]
    return value


def default_cf() -> JsObject:
    """A new copy of the local `cf` object (attribute and item access, `to_py()`)."""
    cf: JsObject = _js(copy.deepcopy(_DEFAULT))
    return cf
