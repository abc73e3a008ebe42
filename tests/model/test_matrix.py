"""The matrix section: what it resolves to, and each wrong definition refused at its
line with the fix."""

import textwrap

import pytest

from leadscore import ModelError, load_model

HEAD = """\
name: t
groups:
  fit:
    max: 60
    rules:
      - {name: a, when: {x: 1}, points: 10}
  engagement:
    max: 50
    rules:
      - {name: b, on: {type: page_view}, points: 5}
grades: {fit: {A: 45, B: 30, C: 15}}
"""


def problems(matrix: str, head: str = HEAD):
    with pytest.raises(ModelError) as info:
        load_model(head + textwrap.dedent(matrix))
    return info.value.problems


def one(matrix: str, head: str = HEAD):
    found = problems(matrix, head)
    assert len(found) == 1, found
    return found[0]


def test_defaults_take_the_grades_and_halves():
    model = load_model(HEAD + "matrix: {engagement: engagement, bands: [30, 15, 5]}\n")
    axes = model.matrix_axes
    assert axes is not None
    assert axes.fit == "fit" and axes.letter_names == ["A", "B", "C", "D"]
    assert axes.band_numbers == [1, 2, 3, 4]
    assert axes.fitting == {"A", "B"} and axes.hot == {1, 2}
    cells = {cell: quadrant for cell, _, _, quadrant in axes.cells()}
    assert len(cells) == 16
    assert cells["A1"] == "Hot & fitting" and cells["B3"] == "Fitting but cold"
    assert cells["C2"] == "Hot but poor fit" and cells["D4"] == "Cold & poor fit"


def test_three_letters_and_two_bands_round_the_halves_down_to_at_least_one():
    model = load_model(
        HEAD + "matrix: {fit: fit, letters: {A: 40, B: 20, else: C}, engagement: engagement,"
        " bands: [10]}\n"
    )
    axes = model.matrix_axes
    assert axes is not None
    assert axes.letter_names == ["A", "B", "C"] and axes.fitting == {"A"}
    assert axes.band_numbers == [1, 2] and axes.hot == {1}


def test_unknown_group_suggests_the_closest():
    p = one(
        """\
        matrix:
          engagement: engagment
          bands: [30, 15]
        """
    )
    assert p.dotted_path == "matrix.engagement"
    assert p.line == 13
    assert "unknown group 'engagment'" in p.message
    assert "did you mean 'engagement'" in p.hint


def test_unsorted_bands_are_refused_with_the_sorted_list():
    p = one(
        """\
        matrix:
          engagement: engagement
          bands: [5, 30, 15]
        """
    )
    assert p.dotted_path == "matrix.bands[1]"
    assert "band 2 starts at 30, above band 1's 5" in p.message
    assert "bands: [30, 15, 5]" in p.hint


def test_overlapping_bands_are_refused():
    p = one("matrix: {engagement: engagement, bands: [30, 30, 5]}\n")
    assert p.dotted_path == "matrix.bands[1]"
    assert "both start at 30" in p.message and "band 2 would hold no contact" in p.message


def test_a_band_out_of_the_groups_reach_is_refused():
    p = one("matrix: {engagement: engagement, bands: [80, 15]}\n")
    assert p.dotted_path == "matrix.bands[0]"
    assert "held at most 50" in p.message
    assert "raise the group's max" in p.hint


def test_no_letters_for_a_group_the_grades_do_not_read():
    p = one("matrix: {fit: engagement, engagement: engagement, bands: [30]}\n")
    assert p.dotted_path == "matrix.fit"
    assert "no letters" in p.message and "read 'fit'" in p.message
    assert "letters: {A: 45" in p.hint


def test_no_fit_group_without_grades():
    head = HEAD.replace("grades: {fit: {A: 45, B: 30, C: 15}}\n", "")
    p = one("matrix: {engagement: engagement, bands: [30]}\n", head)
    assert p.dotted_path == "matrix"
    assert "no fit group" in p.message and "fit: <group>" in p.hint


def test_letters_sharing_a_minimum_and_out_of_reach():
    found = problems(
        "matrix: {fit: fit, letters: {A: 90, B: 20, C: 20}, engagement: engagement, bands: [30]}\n"
    )
    messages = sorted(p.message for p in found)
    assert any("held at most 60" in m and "letter A" in m for m in messages)
    assert any("both start at 20" in m for m in messages)


def test_unknown_fitting_letter_and_hot_band():
    found = problems(
        """\
        matrix:
          engagement: engagement
          bands: [30, 15]
          fitting: [A, E]
          hot: [1, 4]
        """
    )
    by_path = {p.dotted_path: p for p in found}
    assert set(by_path) == {"matrix.fitting[1]", "matrix.hot[1]"}
    assert "unknown letter 'E'" in by_path["matrix.fitting[1]"].message
    assert "bands are 1 to 3" in by_path["matrix.hot[1]"].message
    assert by_path["matrix.hot[1]"].line == 16


def test_two_quadrants_with_one_name():
    p = one(
        "matrix: {engagement: engagement, bands: [30], quadrants: {fit_hot: Go, fit_cold: Go}}\n"
    )
    assert p.dotted_path == "matrix.quadrants.fit_cold"
    assert "'Go' is given twice" in p.message


def test_a_misspelt_key_is_named():
    found = {p.message: p for p in problems("matrix: {engagement: engagement, band: [30]}\n")}
    assert found["unknown key 'band'"].hint == "did you mean 'bands'?"
    assert "missing required key 'bands'" in found


def test_a_group_may_not_be_named_matrix():
    with pytest.raises(ModelError) as info:
        load_model(
            {
                "name": "t",
                "groups": {"matrix": {"rules": [{"name": "a", "when": {"x": 1}, "points": 1}]}},
            }
        )
    assert "matrix" in str(info.value)


def test_a_threshold_on_an_unknown_cell_or_quadrant_is_refused():
    found = problems(
        """\
        matrix: {engagement: engagement, bands: [30, 15]}
        thresholds:
          - stage: SQL
            when: {matrix: [A1, A4]}
          - stage: MQL
            when: {quadrant: Hot & fiting}
          - stage: Nurture
            when: {quadrant: fitting but cold}
        """
    )
    by_path = {p.dotted_path: p for p in found}
    assert set(by_path) == {"thresholds[0].when.matrix", "thresholds[1].when.quadrant"}
    assert "'A4', which the matrix does not have" in by_path["thresholds[0].when.matrix"].message
    assert "did you mean 'Hot & fitting'" in by_path["thresholds[1].when.quadrant"].hint
