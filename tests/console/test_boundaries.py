"""GET /v1/geo/boundaries: the consoles' basemap, one level of the shipped boundaries as a
GeoJSON FeatureCollection, simplified, for any console role."""

from __future__ import annotations

import pytest

from tests.console.support import AGENCY_USER, Server

# The demo region (dispatch/tools/demo_data): Kota and Kabupaten Mojokerto.
COUNTS = {"kabkota": 2, "kecamatan": 21, "kelurahan": 322}


@pytest.mark.parametrize("level", sorted(COUNTS))
async def test_each_level_is_a_feature_collection_of_its_areas(
    console_server: Server, level: str
) -> None:
    response = await console_server.api.get(f"/v1/geo/boundaries?level={level}",
                                            headers=await console_server.headers(AGENCY_USER))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["type"] == "FeatureCollection"
    features = document["features"]
    assert len(features) == COUNTS[level]
    codes = [f["properties"]["code"] for f in features]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    for feature in features:
        assert feature["type"] == "Feature"
        assert feature["properties"]["level"] == level and feature["properties"]["name"]
        geometry = feature["geometry"]
        assert geometry["type"] == "MultiPolygon" and geometry["coordinates"]
        lon, lat = geometry["coordinates"][0][0][0]
        assert 112.0 < lon < 113.0 and -8.0 < lat < -7.0  # [lon, lat], in Mojokerto
    # Simplified: the 322 kelurahan fit a page load (the stored ones are ~900 KB).
    assert len(response.content) < {"kabkota": 60_000, "kecamatan": 150_000,
                                    "kelurahan": 400_000}[level]


async def test_names_and_codes_are_the_areas(console_server: Server) -> None:
    response = await console_server.api.get("/v1/geo/boundaries?level=kabkota",
                                            headers=await console_server.headers("operator"))
    names = {f["properties"]["code"]: f["properties"]["name"] for f in response.json()["features"]}
    assert names == {"35.16": "Kabupaten Mojokerto", "35.76": "Kota Mojokerto"}, names


async def test_a_token_is_needed_and_the_level_must_be_known(console_server: Server) -> None:
    assert (await console_server.api.get("/v1/geo/boundaries?level=kecamatan")).status_code == 401
    response = await console_server.api.get("/v1/geo/boundaries?level=provinsi",
                                            headers=await console_server.headers("supervisor"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
