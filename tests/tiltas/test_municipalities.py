from __future__ import annotations

from tiltas.municipalities import all_municipalities


def test_sixty_municipalities_in_ten_counties() -> None:
    municipalities = all_municipalities()
    assert len(municipalities) == 60
    assert len({m.county for m in municipalities.values()}) == 10
    assert (
        municipalities["vilniaus-m"].administration == "Vilniaus miesto savivaldybės administracija"
    )
    assert {"neringos", "birstono", "kazlu-rudos", "visagino", "pagegiu", "rietavo"} <= set(
        municipalities
    )
    assert all(m.name.endswith("savivaldybė") for m in municipalities.values())
