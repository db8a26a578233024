"""do_domain_record through real ansible against the DigitalOcean API stand-in: the A records
todo / staging.todo that point at the ingress load balancer."""

from __future__ import annotations

from tests.ansible_run import run_module

LB_IP = "203.0.113.10"


def records_args(do_api, records, **extra) -> dict:
    return {"api_url": do_api.api_url, "domain": "example.com", "records": records, **extra}


def test_records_are_created_once_then_unchanged(do_api):
    do_api.add_domain("example.com")
    for i in range(205):  # more than one page of 200: the module must follow links.pages.next
        do_api.add_record("example.com", "TXT", f"filler{i}", f"v{i}")
    declared = [
        {"type": "A", "name": "todo", "data": LB_IP, "ttl": 300},
        {"type": "A", "name": "staging.todo.example.com", "data": LB_IP, "ttl": 300},
    ]
    # the token comes from the environment variable doctl uses
    env = {"DIGITALOCEAN_ACCESS_TOKEN": do_api.token}

    planned = run_module("do_domain_record", records_args(do_api, declared), check=True, env=env)
    assert planned.changed and not planned.failed, planned.result
    assert [(c["action"], c["name"]) for c in planned.result["changes"]] == [
        ("create", "staging.todo"),
        ("create", "todo"),
    ]
    assert do_api.writes() == []
    assert do_api.records("example.com", type="A") == []

    created = run_module("do_domain_record", records_args(do_api, declared), env=env)
    assert created.changed and not created.failed, created.result
    got = {(r["name"], r["data"], r["ttl"]) for r in do_api.records("example.com", type="A")}
    assert got == {("todo", LB_IP, 300), ("staging.todo", LB_IP, 300)}
    assert all(r["id"] for r in created.result["records"])

    do_api.clear_log()
    again = run_module("do_domain_record", records_args(do_api, declared), env=env)
    assert not again.changed and not again.failed, again.result
    assert do_api.calls() == [("GET", "/v2/domains/example.com/records")] * 2  # 2 pages, no writes


def test_new_load_balancer_ip_updates_in_place_with_diff_and_absent_deletes(do_api):
    do_api.add_domain("example.com")
    todo = do_api.add_record("example.com", "A", "todo", "198.51.100.7", ttl=300)
    old = do_api.add_record("example.com", "A", "old", "198.51.100.8")
    www = do_api.add_record("example.com", "CNAME", "www", "example.com.")
    declared = [
        {"type": "A", "name": "todo", "data": LB_IP, "ttl": 300},
        {"type": "A", "name": "old", "state": "absent"},
    ]
    args = records_args(do_api, declared, token=do_api.token)

    planned = run_module("do_domain_record", args, check=True, diff=True)
    assert planned.changed and not planned.failed, planned.result
    assert (
        planned.result["diff"]["before"]
        == "A old 198.51.100.8 ttl=1800\nA todo 198.51.100.7 ttl=300\n"
    )
    assert planned.result["diff"]["after"] == f"A todo {LB_IP} ttl=300\n"
    assert do_api.writes() == []

    applied = run_module("do_domain_record", args, diff=True)
    assert applied.changed and not applied.failed, applied.result
    assert sorted(do_api.writes()) == [
        ("DELETE", f"/v2/domains/example.com/records/{old['id']}"),
        ("PUT", f"/v2/domains/example.com/records/{todo['id']}"),
    ]
    assert do_api.records("example.com", type="A") == [dict(todo, data=LB_IP)]  # same id
    assert do_api.records("example.com", type="CNAME") == [www]  # not mentioned, not touched
