"""Attribution to the service's own code: the first own frame above a library frame."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from bot.config import ServiceConfig
from bot.sources.pprof.analysis import diff_profiles
from bot.triage.steps.frames import cpu_report, diff_report
from bot.triage.steps.ownership import code_prefixes, own_code_pattern, owners
from tests.triage.steps.test_frames import HEAP_BASE, HEAP_NEW, STARVATION


def test_prefixes_come_from_the_catalog_else_from_the_service_name() -> None:
    assert code_prefixes("order-api") == ("order_api",)
    assert code_prefixes("checkout", ["checkout::", "shop_common"]) == ("checkout",
                                                                         "shop_common")
    own = own_code_pattern(("checkout",))
    assert own is not None
    assert re.search(own, "checkout::cache::SessionCache::insert")
    assert re.search(own, "<checkout::model::Cart as core::fmt::Debug>::fmt")
    assert not re.search(own, "mycheckout::x") and not re.search(own, "tokio::spawn")
    assert own_code_pattern(()) is None


def test_owner_is_the_own_frame_carrying_most_of_the_function() -> None:
    own = own_code_pattern(("checkout",))
    stacks = [(("__rust_alloc", "alloc::sync::Arc<T>::new", "checkout::cache::Cache::insert",
                "checkout::handlers::login"), 90),
              (("__rust_alloc", "alloc::sync::Arc<T>::new", "checkout::events::emit"), 10),
              (("__rust_alloc", "tokio::runtime::task::spawn"), 50)]
    found = owners(stacks, ["alloc::sync::Arc<T>::new", "tokio::runtime::task::spawn",
                            "checkout::events::emit"], own)
    assert found == {"alloc::sync::Arc<T>::new": "checkout::cache::Cache::insert",
                     "checkout::events::emit": "checkout::events::emit"}
    assert owners(stacks, ["alloc::sync::Arc<T>::new"], None) == {}


def test_reports_carry_the_owner_into_the_frames_signal() -> None:
    own = own_code_pattern(("checkout",))
    heap = {f.function: f for f in diff_report(diff_profiles(HEAP_BASE, HEAP_NEW,
                                                             "inuse_space"), own=own).shares()}
    assert heap["alloc::sync::Arc<T>::new"].owner == "checkout::session::SessionCache::insert"
    cpu = {f.function: f for f in cpu_report(STARVATION, own=own).shares()}
    assert cpu["std::thread::sleep"].owner == "checkout::inventory::reserve"
    assert cpu["serde_json::ser::to_vec"].owner == "checkout::handlers::post_checkout::{{closure}}"
    assert cpu_report(STARVATION).shares()[0].owner is None


def test_the_catalog_rejects_a_code_prefix_that_is_not_a_crate_path() -> None:
    assert ServiceConfig(name="checkout", code_prefixes=["checkout", "shop::orders::"])
    with pytest.raises(ValidationError, match="invalid code prefix"):
        ServiceConfig(name="checkout", code_prefixes=["checkout|.*"])
