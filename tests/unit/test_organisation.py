"""The organisation tree and the competent committee: models/organisation.py."""

from __future__ import annotations

import pytest

from models.organisation import CompetentBody, Tree, Unit, committee_name, placement_problem


def U(id: str, parent: str | None, kind: str, name: str | None = None, **kw) -> Unit:  # noqa: A002
    return Unit(id=id, parent_id=parent, kind=kind, name=name or f"Đảng bộ {id}", **kw)


@pytest.fixture
def tree() -> Tree:
    """A province, one commune, and under it every arrangement the rules describe.

    province
    └── commune (Đảng bộ xã Mường Bú)
        ├── school            grassroots committee, not authorised
        │   ├── school_sub    intermediate committee
        │   │   └── cell_a    cell
        │   └── cell_b        cell
        ├── clinic            grassroots cell (chi bộ cơ sở)
        ├── coop              grassroots committee, authorised to admit
        │   └── cell_c
        ├── cell_d            cell directly under the commune
        ├── forest            grassroots committee with an explicit competent unit (province)
        │   ├── cell_e
        │   └── cell_f        cell with its own explicit competent unit (commune)
        └── village_1         village
    """
    return Tree([
        U("province", None, "province_committee", "Đảng bộ tỉnh Sơn La"),
        U("commune", "province", "commune_committee", "Đảng bộ xã Mường Bú"),
        U("school", "commune", "grassroots_committee", "Đảng bộ Trường THPT Mường Bú"),
        U("school_sub", "school", "intermediate_committee", "Đảng bộ bộ phận khối THPT"),
        U("cell_a", "school_sub", "cell", "Chi bộ giáo viên 1"),
        U("cell_b", "school", "cell", "Chi bộ giáo viên 2"),
        U("clinic", "commune", "grassroots_cell", "Chi bộ Trạm y tế"),
        U("coop", "commune", "grassroots_committee", "Đảng bộ Hợp tác xã", authorised_to_admit=True),
        U("cell_c", "coop", "cell", "Chi bộ sản xuất"),
        U("cell_d", "commune", "cell", "Chi bộ bản Nà Lừa"),
        U("forest", "commune", "grassroots_committee", "Đảng bộ Ban quản lý rừng", competent_unit_id="province"),
        U("cell_e", "forest", "cell", "Chi bộ trạm 1"),
        U("cell_f", "forest", "cell", "Chi bộ trạm 2", competent_unit_id="commune"),
        U("village_1", "commune", "village", "Bản Nà Lừa"),
    ])


# --- grassroots organisation ------------------------------------------------------------------


def test_a_grassroots_cell_is_its_own_grassroots_organisation(tree):
    assert tree.grassroots_of("clinic").id == "clinic"


def test_a_cell_under_a_grassroots_committee_belongs_to_it(tree):
    assert tree.grassroots_of("cell_b").id == "school"


def test_a_cell_under_an_intermediate_committee_skips_it_for_the_grassroots_committee(tree):
    assert tree.grassroots_of("cell_a").id == "school"


def test_a_cell_under_a_commune_committee_has_the_commune_as_grassroots_organisation(tree):
    assert tree.grassroots_of("cell_d").id == "commune"


def test_a_cell_with_no_grassroots_organisation_above_is_an_error():
    t = Tree([U("province", None, "province_committee"), U("stray", "province", "cell")])
    with pytest.raises(ValueError, match="'stray' has no grassroots organisation"):
        t.grassroots_of("stray")


# --- competent body -----------------------------------------------------------------------------


def test_an_authorised_grassroots_committee_decides_as_a_whole(tree):
    assert tree.competent_body("cell_c") == CompetentBody("coop", standing_committee=False)


def test_otherwise_the_standing_committee_of_the_unit_above_the_grassroots_decides(tree):
    assert tree.competent_body("cell_b") == CompetentBody("commune", standing_committee=True)
    assert tree.competent_body("cell_a") == CompetentBody("commune", standing_committee=True)


def test_for_a_grassroots_cell_the_standing_committee_above_it_decides(tree):
    assert tree.competent_body("clinic") == CompetentBody("commune", standing_committee=True)


def test_for_a_cell_directly_under_the_commune_the_province_standing_committee_decides(tree):
    assert tree.competent_body("cell_d") == CompetentBody("province", standing_committee=True)


def test_an_authorised_commune_decides_as_a_whole_for_its_own_cells():
    t = Tree([
        U("province", None, "province_committee"),
        U("commune", "province", "commune_committee", authorised_to_admit=True),
        U("cell", "commune", "cell"),
    ])
    assert t.competent_body("cell") == CompetentBody("commune", standing_committee=False)


def test_an_explicit_competent_unit_on_an_ancestor_wins(tree):
    assert tree.competent_body("cell_e") == CompetentBody("province", standing_committee=True)


def test_an_explicit_competent_unit_on_the_cell_wins_over_its_ancestors(tree):
    assert tree.competent_body("cell_f") == CompetentBody("commune", standing_committee=True)


def test_an_explicit_competent_unit_wins_even_over_an_authorised_grassroots_committee():
    t = Tree([
        U("province", None, "province_committee"),
        U("commune", "province", "commune_committee"),
        U("coop", "commune", "grassroots_committee", authorised_to_admit=True),
        U("cell", "coop", "cell", competent_unit_id="province"),
    ])
    assert t.competent_body("cell") == CompetentBody("province", standing_committee=True)


def test_a_grassroots_organisation_at_the_top_decides_as_a_whole():
    t = Tree([U("lone", None, "grassroots_cell")])
    assert t.competent_body("lone") == CompetentBody("lone", standing_committee=False)


def test_competent_body_describes_the_committee_not_the_organisation(tree):
    assert tree.competent_body("cell_b").describe(tree.units) == "Ban Thường vụ Đảng ủy xã Mường Bú"
    assert tree.competent_body("cell_c").describe(tree.units) == "Đảng ủy Hợp tác xã"


# --- intermediate and grassroots committees on the path --------------------------------------


def test_has_intermediate_committee_only_when_the_parent_is_one(tree):
    assert tree.has_intermediate_committee("cell_a") is True
    assert tree.has_intermediate_committee("cell_b") is False
    assert tree.has_intermediate_committee("cell_d") is False
    assert tree.has_intermediate_committee("clinic") is False


def test_has_grassroots_committee_for_a_cell_but_not_for_a_grassroots_cell(tree):
    assert tree.has_grassroots_committee("cell_a") is True
    assert tree.has_grassroots_committee("cell_b") is True
    assert tree.has_grassroots_committee("cell_d") is True
    assert tree.has_grassroots_committee("clinic") is False


def test_a_root_unit_has_no_intermediate_committee():
    t = Tree([U("lone", None, "grassroots_cell")])
    assert t.has_intermediate_committee("lone") is False


# --- subtree and ancestors ----------------------------------------------------------------------


def test_subtree_ids_holds_the_root_and_every_descendant(tree):
    assert tree.subtree_ids("school") == {"school", "school_sub", "cell_a", "cell_b"}
    assert tree.subtree_ids("forest") == {"forest", "cell_e", "cell_f"}


def test_subtree_of_a_leaf_is_the_leaf(tree):
    assert tree.subtree_ids("cell_a") == {"cell_a"}


def test_subtree_of_the_root_is_every_unit(tree):
    assert tree.subtree_ids("province") == set(tree.units)


def test_ancestors_go_from_the_parent_up_to_the_root(tree):
    assert [u.id for u in tree.ancestors("cell_a")] == ["school_sub", "school", "commune", "province"]
    assert list(tree.ancestors("province")) == []


def test_a_cycle_in_the_tree_is_detected():
    t = Tree([U("a", "b", "cell"), U("b", "c", "grassroots_committee"), U("c", "a", "commune_committee")])
    with pytest.raises(ValueError, match="cycle in the organisation tree"):
        list(t.ancestors("a"))


def test_a_unit_that_is_its_own_parent_is_a_cycle():
    t = Tree([U("a", "a", "cell")])
    with pytest.raises(ValueError, match="cycle in the organisation tree at 'a'"):
        list(t.ancestors("a"))


def test_competent_body_reports_a_cycle_instead_of_looping():
    t = Tree([U("a", "b", "cell"), U("b", "a", "intermediate_committee")])
    with pytest.raises(ValueError, match="cycle"):
        t.competent_body("a")


# --- placement ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "parent_kind"),
    [
        ("province_committee", None),
        ("commune_committee", "province_committee"),
        ("grassroots_committee", "commune_committee"),
        ("grassroots_cell", "agency_committee"),
        ("intermediate_committee", "grassroots_committee"),
        ("cell", "intermediate_committee"),
        ("cell", "grassroots_committee"),
        ("cell", "commune_committee"),
        ("village", "commune_committee"),
        ("residential_group", "commune_committee"),
    ],
)
def test_allowed_placements_have_no_problem(kind, parent_kind):
    assert placement_problem(kind, parent_kind) is None


def test_a_cell_cannot_sit_directly_under_a_province():
    assert placement_problem("cell", "province_committee") == (
        "a cell cannot sit under a province_committee; it goes under: "
        "commune_committee, grassroots_committee, intermediate_committee"
    )


def test_a_cell_cannot_sit_at_the_top_of_the_tree():
    problem = placement_problem("cell", None)
    assert problem is not None
    assert problem.startswith("a cell cannot sit at the top of the tree; it goes under: ")


def test_a_province_cannot_sit_under_anything():
    assert placement_problem("province_committee", "commune_committee") == (
        "a province_committee cannot sit under a commune_committee; it goes under: (top)"
    )


@pytest.mark.parametrize(
    ("kind", "parent_kind"),
    [
        ("village", "grassroots_committee"),
        ("intermediate_committee", "intermediate_committee"),
        ("grassroots_cell", "grassroots_committee"),
        ("commune_committee", "commune_committee"),
    ],
)
def test_disallowed_placements_name_the_kinds(kind, parent_kind):
    problem = placement_problem(kind, parent_kind)
    assert problem is not None
    assert f"a {kind} cannot sit under a {parent_kind}" in problem


def test_an_unknown_unit_kind_is_a_problem():
    problem = placement_problem("soviet", "province_committee")
    assert problem is not None
    assert problem.startswith("unknown unit kind 'soviet'")


# --- committee names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("organisation", "committee"),
    [
        ("Đảng bộ xã Mường Bú", "Đảng ủy xã Mường Bú"),
        ("Đảng bộ phường Ba Đình", "Đảng ủy phường Ba Đình"),
        ("Đảng bộ tỉnh Sơn La", "Đảng ủy tỉnh Sơn La"),
        ("Chi bộ Trạm y tế", "Chi bộ Trạm y tế"),
    ],
)
def test_committee_name_replaces_dang_bo_with_dang_uy(organisation, committee):
    assert committee_name(organisation) == committee


def test_subtree_of_a_tree_with_a_cycle_terminates():
    from models.organisation import Tree, Unit

    tree = Tree([Unit("a", "b", "cell", "A"), Unit("b", "a", "cell", "B")])
    assert tree.subtree_ids("a") == {"a", "b"}
