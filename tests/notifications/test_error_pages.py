"""The unread count on an error page must not start a transaction nobody ends (on SQLite that would hold the write
lock and stall every later request): with real sessions, no connection stays checked out afterwards."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from tests.conftest import login, post_form


def test_an_error_page_for_a_logged_in_person_leaves_no_connection_behind(app) -> None:
    # A person on no committee: the navigation's other count ("Awaiting my decision") is not asked.
    engine = app.state.engine
    gc.disable()  # as in a server, where a request caught in a reference cycle waits for the collector
    try:
        with TestClient(app, follow_redirects=False) as client:  # the app's own sessions, not the test transaction
            login(client, "academic@example.org")
            assert client.get("/admin/users").status_code == 403
            assert post_form(client, "/notifications/999999/read").status_code == 404
            assert engine.pool.checkedout() == 0
            page = client.get("/notifications")
            assert page.status_code == 200
            assert engine.pool.checkedout() == 0
    finally:
        gc.enable()
