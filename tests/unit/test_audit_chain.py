"""Hash chaining of audit events, pure: models/audit/chain.py."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from models.audit.chain import GENESIS, HASHED_FIELDS, Break, canonical_json, link_hash, verify_chains

FIELD = {name: i for i, name in enumerate(HASHED_FIELDS)}
N = len(HASHED_FIELDS)

SEQ_MSG = "sequence number {seq} where {expected} was expected (an event is missing)"
LINK_MSG = "does not link to the previous event's hash"
PAYLOAD_MSG = "payload does not match its digest (the payload was altered)"
HASH_MSG = "hash does not match the event's fields (a field was altered)"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_chain(chain_key: str, first_id: int, count: int) -> list[tuple]:
    """`count` well-formed rows (id, *HASHED_FIELDS, payload, hash) for one chain."""
    rows, prev = [], "0" * 64
    for seq in range(1, count + 1):
        payload = json.dumps({"bước": seq, "ghi chú": "Chi bộ biểu quyết"}, ensure_ascii=False, sort_keys=True)
        fields = {
            "chain_key": chain_key,
            "seq": seq,
            "candidate_id": 7,
            "kind": "transition",
            "event": f"event_{seq}",
            "actor": "user:bi-thu",
            "role": "secretary",
            "effective_on": date(2027, 1, 4) + timedelta(days=seq),
            "recorded_at": datetime(2027, 1, 10, 9, 0, seq, tzinfo=UTC),
            "stage_before": f"stage_{seq - 1}",
            "stage_after": f"stage_{seq}",
            "reason": None,
            "ruleset_version": "qd294-2025",
            "flow_run_id": None,
            "idempotency_key": f"key-{chain_key}-{seq}",
            "request_digest": sha(f"request {seq}"),
            "payload_digest": sha(payload),
            "documents": "6-KNĐ",
            "prev_hash": prev,
        }
        values = [fields[name] for name in HASHED_FIELDS]
        row_hash = link_hash(values)
        rows.append((first_id + seq - 1, *values, payload, row_hash))
        prev = row_hash
    return rows


def with_field(row: tuple, name: str, value) -> tuple:
    """The row with one hashed field replaced, its stored hash left as it was."""
    i = 1 + FIELD[name]
    return (*row[:i], value, *row[i + 1:])


def with_payload(row: tuple, payload: str) -> tuple:
    return (*row[: 1 + N], payload, row[2 + N])


def head_of(row: tuple) -> tuple[int, str]:
    return (row[1 + FIELD["seq"]], row[-1])


@pytest.fixture
def rows() -> list[tuple]:
    """Two chains of three events: 'candidate:7' (ids 1-3) and 'org:commune' (ids 4-6)."""
    return make_chain("candidate:7", 1, 3) + make_chain("org:commune", 4, 3)


# --- intact chains -----------------------------------------------------------------------------


def test_genesis_is_64_zeros():
    assert GENESIS == "0" * 64


def test_an_intact_chain_verifies(rows):
    result = verify_chains(rows)
    assert result.ok
    assert result.breaks == []
    assert result.first_break is None
    assert (result.events, result.chains) == (6, 2)


def test_an_intact_chain_with_matching_heads_verifies(rows):
    heads = {"candidate:7": head_of(rows[2]), "org:commune": head_of(rows[5])}
    assert verify_chains(rows, heads).ok


def test_no_rows_verify_trivially():
    result = verify_chains([])
    assert result.ok and (result.events, result.chains) == (0, 0)


# --- one tampering, one break --------------------------------------------------------------------

TAMPERABLE = [f for f in HASHED_FIELDS if f not in ("chain_key", "seq", "prev_hash", "payload_digest")]


@pytest.mark.parametrize("name", TAMPERABLE)
def test_changing_any_recorded_field_breaks_the_chain_at_that_event(rows, name):
    rows[1] = with_field(rows[1], name, "tampered")
    result = verify_chains(rows)
    assert result.breaks == [Break(2, "candidate:7", 2, HASH_MSG)]


def test_changing_the_effective_date_by_one_day_is_detected(rows):
    original = rows[1][1 + FIELD["effective_on"]]
    rows[1] = with_field(rows[1], "effective_on", original + timedelta(days=1))
    assert verify_chains(rows).breaks == [Break(2, "candidate:7", 2, HASH_MSG)]


def test_a_changed_previous_hash_does_not_link(rows):
    rows[1] = with_field(rows[1], "prev_hash", "f" * 64)
    assert verify_chains(rows).breaks == [Break(2, "candidate:7", 2, LINK_MSG)]


def test_a_changed_payload_is_detected_through_its_digest(rows):
    rows[1] = with_payload(rows[1], rows[1][1 + N].replace("Chi bộ", "Chi ủy"))
    assert verify_chains(rows).breaks == [Break(2, "candidate:7", 2, PAYLOAD_MSG)]


def test_a_payload_digest_rewritten_to_match_an_altered_payload_is_caught_by_the_hash(rows):
    altered = rows[1][1 + N].replace("Chi bộ", "Chi ủy")
    row = with_payload(rows[1], altered)
    rows[1] = with_field(row, "payload_digest", sha(altered))
    assert verify_chains(rows).breaks == [Break(2, "candidate:7", 2, HASH_MSG)]


def test_a_changed_stored_hash_is_detected(rows):
    rows[1] = (*rows[1][:-1], "0" * 64)
    assert verify_chains(rows).breaks == [Break(2, "candidate:7", 2, HASH_MSG)]


def test_a_changed_sequence_number_is_detected(rows):
    rows[1] = with_field(rows[1], "seq", 5)
    assert verify_chains(rows).breaks == [Break(2, "candidate:7", 5, SEQ_MSG.format(seq=5, expected=2))]


def test_a_changed_chain_key_of_a_single_event_chain_is_detected():
    rows = make_chain("candidate:9", 1, 1)
    rows[0] = with_field(rows[0], "chain_key", "candidate:8")
    assert verify_chains(rows).breaks == [Break(1, "candidate:8", 1, HASH_MSG)]


def test_a_removed_middle_event_leaves_a_sequence_gap(rows):
    del rows[1]
    assert verify_chains(rows).breaks == [Break(3, "candidate:7", 3, SEQ_MSG.format(seq=3, expected=2))]


def test_a_removed_first_event_is_detected(rows):
    del rows[0]
    assert verify_chains(rows).breaks == [Break(2, "candidate:7", 2, SEQ_MSG.format(seq=2, expected=1))]


def test_reordered_events_are_detected(rows):
    rows[1], rows[2] = rows[2], rows[1]
    assert verify_chains(rows).breaks == [Break(3, "candidate:7", 3, SEQ_MSG.format(seq=3, expected=2))]


def test_renumbered_events_in_swapped_order_do_not_link(rows):
    second, third = rows[1], rows[2]
    rows[1] = with_field(third, "seq", 2)
    rows[2] = with_field(second, "seq", 3)
    assert verify_chains(rows).breaks == [Break(3, "candidate:7", 2, LINK_MSG)]


def test_a_head_recording_more_events_than_the_chain_has_is_a_deleted_tail(rows):
    heads = {"candidate:7": (5, "a" * 64)}
    result = verify_chains(rows, heads)
    assert result.breaks == [Break(None, "candidate:7", 5, "the owner records 5 events but the chain ends at 3")]


def test_a_deleted_last_event_is_caught_by_the_head(rows):
    heads = {"candidate:7": head_of(rows[2]), "org:commune": head_of(rows[5])}
    del rows[2]
    assert verify_chains(rows, heads).breaks == [
        Break(None, "candidate:7", 3, "the owner records 3 events but the chain ends at 2")
    ]


def test_a_head_with_the_right_count_but_another_hash_is_a_break(rows):
    heads = {"candidate:7": (3, "b" * 64)}
    (only,) = verify_chains(rows, heads).breaks
    assert (only.event_id, only.chain_key, only.seq) == (None, "candidate:7", 3)


def test_a_head_for_a_chain_with_no_events_is_a_break(rows):
    heads = {"candidate:99": (2, "c" * 64)}
    assert verify_chains(rows, heads).breaks == [
        Break(None, "candidate:99", 2, "the owner records 2 events but the chain ends at 0")
    ]


def test_a_head_of_zero_for_a_chain_with_no_events_is_fine(rows):
    assert verify_chains(rows, {"candidate:99": (0, "")}).ok


def test_a_chain_already_broken_gets_no_second_break_from_its_head(rows):
    rows[1] = with_field(rows[1], "reason", "tampered")
    heads = {"candidate:7": (5, "a" * 64)}
    assert verify_chains(rows, heads).breaks == [Break(2, "candidate:7", 2, HASH_MSG)]


def test_only_the_first_wrong_event_of_a_chain_is_reported(rows):
    rows[1] = with_field(rows[1], "reason", "tampered")
    rows[2] = with_field(rows[2], "actor", "tampered")
    assert verify_chains(rows).breaks == [Break(2, "candidate:7", 2, HASH_MSG)]


def test_a_break_in_one_chain_leaves_the_other_chain_verified(rows):
    rows[4] = with_field(rows[4], "kind", "tampered")
    result = verify_chains(rows)
    assert result.breaks == [Break(5, "org:commune", 2, HASH_MSG)]
    assert (result.events, result.chains) == (6, 2)


def test_first_break_is_the_lowest_event_id_across_chains():
    # Chain "a" sorts first but holds the higher ids.
    rows = make_chain("a", 10, 3) + make_chain("b", 1, 3)
    rows[1] = with_field(rows[1], "role", "tampered")        # event 11 in chain a
    rows[5] = with_field(rows[5], "role", "tampered")        # event 3 in chain b
    result = verify_chains(rows, {"c": (4, "d" * 64)})
    assert [b.event_id for b in result.breaks] == [11, 3, None]
    assert result.first_break == Break(3, "b", 3, HASH_MSG)
    assert not result.ok


def test_break_as_dict_names_event_chain_seq_and_problem():
    assert Break(2, "candidate:7", 2, HASH_MSG).as_dict() == {
        "event_id": 2, "chain": "candidate:7", "seq": 2, "problem": HASH_MSG,
    }


# --- link_hash ----------------------------------------------------------------------------------


def test_link_hash_is_a_sha256_hex_digest():
    h = link_hash(["x"] * N)
    assert len(h) == 64 and int(h, 16) >= 0


def test_link_hash_length_prefix_keeps_field_boundaries_apart():
    assert link_hash(["ab", "c"]) != link_hash(["a", "bc"])
    assert link_hash(["a|1:b"]) != link_hash(["a", "b"])


def test_link_hash_tells_none_from_empty_text():
    assert link_hash([None, "x"]) != link_hash(["", "x"])


def test_link_hash_depends_on_the_previous_hash():
    values = list(make_chain("k", 1, 1)[0][1 : 1 + N])
    other = [*values[:-1], "1" * 64]
    assert link_hash(values) != link_hash(other)


# --- canonical_json -----------------------------------------------------------------------------


def test_canonical_json_sorts_keys_and_has_no_spaces():
    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'


def test_canonical_json_is_the_same_whatever_the_insertion_order():
    one = {"stage": "probation", "on": date(2027, 1, 4), "nested": {"z": 1, "y": 2}}
    two = {"nested": {"y": 2, "z": 1}, "on": date(2027, 1, 4), "stage": "probation"}
    assert canonical_json(one) == canonical_json(two)


def test_canonical_json_writes_dates_and_datetimes_in_iso_form():
    assert canonical_json({"on": date(2027, 1, 4)}) == '{"on":"2027-01-04"}'
    assert canonical_json({"at": datetime(2027, 1, 4, 9, 30)}) == '{"at":"2027-01-04T09:30:00"}'


def test_canonical_json_keeps_vietnamese_unescaped():
    text = canonical_json({"tên": "Nguyễn Thị Đào"})
    assert text == '{"tên":"Nguyễn Thị Đào"}'
    assert "\\u" not in text


def test_canonical_json_sorts_sets_and_lists_tuples():
    assert canonical_json({"s": {3, 1, 2}, "t": (2, 1)}) == '{"s":[1,2,3],"t":[2,1]}'


def test_canonical_json_refuses_objects_it_cannot_encode():
    with pytest.raises(TypeError, match="cannot encode object"):
        canonical_json({"x": object()})
