"""Shared by the place search tests (tests/test_geo_search_*.py): area codes of the demo region
(Kota and Kabupaten Mojokerto). They come from dispatch/tools/demo_data/desa_*.geojson and
kecamatan_mojokerto.geojson: Mentikan 35.76.01.1003 (kec. Prajuritkulon 35.76.01), Gedongan
35.76.02.1004 (kec. Magersari 35.76.02), Jagalan 35.76.03.1004 (kec. Kranggan 35.76.03, not
Magersari), Kauman both 35.16.08.1004 (kec. Mojosari) and 35.76.01.1004 (kec. Prajuritkulon),
Sooko both the desa 35.16.13.2010 and its kecamatan 35.16.13."""

from __future__ import annotations

MENTIKAN = "35.76.01.1003"
GEDONGAN = "35.76.02.1004"
JAGALAN = "35.76.03.1004"
KAUMAN_MOJOSARI = "35.16.08.1004"
KAUMAN_PRAJURITKULON = "35.76.01.1004"
DESA_SOOKO = "35.16.13.2010"
KEC_SOOKO = "35.16.13"
KOTA = "35.76"
KABUPATEN = "35.16"
