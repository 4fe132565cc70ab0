"""The botocore patches of the local account's runtime: one table, applied while a function runs and restored
after it, except the trie writers, which stay."""

from __future__ import annotations

from local_account.botocore_patches import PATCHES, shared_botocore_data


def test_every_patch_is_applied_inside_the_block_and_restored_after_it_unless_it_stays_for_good() -> None:
    # Given what botocore holds before any call
    before = {(patch.owner, patch.attribute): getattr(patch.owner, patch.attribute) for patch in PATCHES}

    # When a block is open, then closed
    with shared_botocore_data():
        inside = {(patch.owner, patch.attribute): getattr(patch.owner, patch.attribute) for patch in PATCHES}
    after = {(patch.owner, patch.attribute): getattr(patch.owner, patch.attribute) for patch in PATCHES}

    # Then every patch was in place inside, and afterwards only those for good remain
    assert all(inside[(patch.owner, patch.attribute)] is patch.replacement for patch in PATCHES)
    for patch in PATCHES:
        expected = patch.replacement if patch.for_good else before[(patch.owner, patch.attribute)]
        assert after[(patch.owner, patch.attribute)] is expected, patch.attribute


def test_each_patch_names_one_attribute_once_and_says_why() -> None:
    # Then no attribute is patched twice, and each entry gives its reason in one line
    targets = [(id(patch.owner), patch.attribute) for patch in PATCHES]
    assert len(set(targets)) == len(targets)
    assert all(patch.why and "\n" not in patch.why for patch in PATCHES)
    assert {patch.attribute for patch in PATCHES if patch.for_good} == {"append_item", "remove_item"}
