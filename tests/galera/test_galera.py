"""`authctl db migrate` on a real MariaDB Galera cluster of two nodes (see conftest.py).

The migration tests follow one deployment through its life, one fixture per step, each
building on the one before: two hosts migrate at once, a killed migrator's lock row stops
both, the operator clears it, a node in RSU mode is refused, a last run changes nothing.
Tests read the outcome of a step, so any of them can run alone (-k) and still see the
steps before it happen.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

NODES = (1, 2)
PROBE_LOCK = "authfcgi_galera_probe"
HOLDER = "deploy-host pid 4242"
CLEAR_LOCK = "DELETE FROM schema_migration_lock WHERE id = 1;"
PROBE_MIGRATION = """\
-- Test only: a migration with a row, so running it twice would show.
CREATE TABLE IF NOT EXISTS galera_probe (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, note VARCHAR(20));
INSERT INTO galera_probe (note) VALUES ('applied');
"""


def schema_on(node, db: str) -> tuple[int, int, list[int], int]:
    """The six tables every node must have, migration 002's column, the applied versions and
    the lock rows left."""
    row = node.sql(f"""SELECT
        (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{db}'
          AND table_name IN ('users', 'sessions', 'remember_tokens', 'login_failures',
                             'schema_version', 'schema_migration_lock')),
        (SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = '{db}'
          AND table_name = 'remember_tokens' AND column_name = 'used_at'),
        (SELECT GROUP_CONCAT(version ORDER BY version) FROM {db}.schema_version),
        (SELECT COUNT(*) FROM {db}.schema_migration_lock)""").split("\t")
    versions = [] if row[2] == "NULL" else [int(v) for v in row[2].split(",")]
    return int(row[0]), int(row[1]), versions, int(row[3])


def refused(answer: str) -> bool:
    return "GET_LOCK in cluster" in answer


# ---------------------------------------------------------------------------------------------
# The cluster is real


@pytest.mark.parametrize("number", NODES, ids=["node1", "node2"])
def test_each_node_is_synced_in_a_cluster_of_two(galera, number):
    status = galera.nodes[number - 1].sql("SHOW STATUS LIKE 'wsrep_cluster_size'")
    assert status.split("\t")[1] == "2", status


def test_a_database_and_account_created_on_node_1_are_on_node_2(galera, app_db):
    node2 = galera.nodes[1]
    assert node2.sql(f"SELECT COUNT(*) FROM mysql.user WHERE user = '{app_db.user}'") == "2"
    assert node2.sql(f"SHOW DATABASES LIKE '{app_db.name}'") == app_db.name


def test_get_lock_cannot_keep_two_nodes_apart(galera):
    """A migrator cannot rely on the server's named lock here: Galera either refuses GET_LOCK
    or grants it on one node only."""
    node1, node2 = galera.nodes
    first = node1.client(f"SELECT GET_LOCK('{PROBE_LOCK}', 0)")
    if refused(first.stderr):
        return  # refused outright: one of the two answers that keep migrators honest
    # Hold the lock on node 1 for a few seconds and ask node 2 for it meanwhile.
    holder = node1.client_in_background(f"SELECT GET_LOCK('{PROBE_LOCK}', 0), SLEEP(8)")
    held = "NULL"
    try:
        deadline = time.monotonic() + 5
        while held == "NULL" and time.monotonic() < deadline:
            held = node1.sql(f"SELECT IS_USED_LOCK('{PROBE_LOCK}')")
            if held == "NULL":
                time.sleep(0.1)
        second = node2.client(f"SELECT GET_LOCK('{PROBE_LOCK}', 0)")
        answer = second.stdout.strip() or second.stderr.strip()
        assert refused(answer) or (held != "NULL" and answer == "1"), (
            f"node 1 holder: {held}; node 2: {answer}")
    finally:
        if held.isdigit():
            node1.client(f"KILL {held}")  # frees the lock now rather than after SLEEP(8)
        holder.terminate()
        holder.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# authctl db migrate against both nodes at once


@pytest.fixture(scope="module")
def first_run(migrator):
    return migrator.run_both("first")


def test_concurrent_migrations_on_two_nodes_both_exit_0(first_run):
    assert first_run.codes == {1: 0, 2: 0}, first_run.describe()


def test_concurrent_migrations_apply_each_migration_once(migrator, first_run):
    assert first_run.applied() == migrator.versions_on_disk(), (
        f"after {first_run.seconds:.0f} s: {first_run.describe()}")


@pytest.mark.parametrize("number", NODES, ids=["node1", "node2"])
def test_after_concurrent_migrations_each_node_has_the_schema_and_no_lock_row(
        galera, app_db, migrator, first_run, number):
    assert schema_on(galera.nodes[number - 1], app_db.name) == (
        6, 1, migrator.versions_on_disk(), 0)


@pytest.fixture(scope="module")
def stale_run(galera, app_db, migrator, first_run):
    """A migrator killed while it held the lock leaves its row: both runs wait the full 30 s
    for it, then stop. A new migration is waiting, so an applied one would show."""
    (migrator.sql_dir / "900_galera_probe.sql").write_text(PROBE_MIGRATION)
    galera.nodes[0].sql(
        f"INSERT INTO {app_db.name}.schema_migration_lock (id, holder, token, acquired_at) "
        f"VALUES (1, '{HOLDER}', 'feedfacefeedfacefeedfacefeedface', UTC_TIMESTAMP())")
    return migrator.run_both("stale")


@pytest.mark.slow
def test_a_stale_lock_row_stops_both_migrators_with_exit_5(stale_run):
    assert stale_run.codes == {1: 5, 2: 5}, (
        f"after {stale_run.seconds:.0f} s: {stale_run.describe()}")


@pytest.mark.slow
@pytest.mark.parametrize("number", NODES, ids=["node1", "node2"])
def test_the_stale_lock_message_names_the_holder_and_the_delete_that_clears_it(
        stale_run, number):
    output = stale_run.outputs[number]
    assert HOLDER in output and CLEAR_LOCK in output, output


@pytest.mark.slow
def test_nothing_is_applied_while_a_stale_lock_is_held(galera, app_db, stale_run):
    assert galera.nodes[1].sql(
        "SELECT COUNT(*) FROM information_schema.tables "
        f"WHERE table_schema = '{app_db.name}' AND table_name = 'galera_probe'") == "0"


@pytest.fixture(scope="module")
def cleared_run(galera, app_db, migrator, stale_run):
    """The operator clears the lock as the message says (on any node: here node 2), and both
    hosts migrate again at once."""
    galera.nodes[1].sql(f"USE {app_db.name}; {CLEAR_LOCK}")
    return migrator.run_both("cleared")


@pytest.mark.slow
def test_after_the_lock_row_is_cleared_both_migrators_exit_0(cleared_run):
    assert cleared_run.codes == {1: 0, 2: 0}, cleared_run.describe()


@pytest.mark.slow
def test_after_the_lock_row_is_cleared_the_new_migration_is_applied_by_exactly_one_node(
        cleared_run):
    assert cleared_run.applied() == [900], cleared_run.describe()


@pytest.mark.slow
@pytest.mark.parametrize("number", NODES, ids=["node1", "node2"])
def test_the_new_migrations_insert_ran_once_in_the_cluster(galera, app_db, cleared_run, number):
    assert galera.nodes[number - 1].sql(f"SELECT COUNT(*) FROM {app_db.name}.galera_probe") == "1"


@pytest.fixture(scope="module")
def rsu_run(galera, migrator, cleared_run):
    """A node switched to rolling schema upgrades (RSU) would apply DDL to itself only while
    the schema_version rows replicate everywhere: authctl must refuse to migrate there."""
    node2 = galera.nodes[1]
    node2.sql("SET GLOBAL wsrep_OSU_method = 'RSU'")
    try:
        return migrator.run_one(2)
    finally:
        node2.sql("SET GLOBAL wsrep_OSU_method = 'TOI'")


@pytest.mark.slow
def test_a_node_in_rolling_schema_upgrade_mode_is_refused_with_the_reason(rsu_run):
    assert rsu_run.returncode == 5, rsu_run.stdout
    assert "wsrep_OSU_method = RSU" in rsu_run.stdout


@pytest.fixture(scope="module")
def last_run(migrator, rsu_run):
    return migrator.run_both("again")


@pytest.mark.slow
def test_a_third_concurrent_run_exits_0(last_run):
    assert last_run.codes == {1: 0, 2: 0}, last_run.describe()


@pytest.mark.slow
def test_a_third_run_reports_the_schema_up_to_date_on_both_nodes(last_run):
    assert all("schema is up to date" in out for out in last_run.outputs.values()), (
        last_run.describe())


@pytest.mark.slow
@pytest.mark.parametrize("number", NODES, ids=["node1", "node2"])
def test_a_third_run_leaves_schema_version_unchanged(galera, app_db, migrator, last_run, number):
    assert schema_on(galera.nodes[number - 1], app_db.name) == (
        6, 1, migrator.versions_on_disk(), 0)
    assert 900 in migrator.versions_on_disk()


# ---------------------------------------------------------------------------------------------
# The C++ DB tests against node 2, over TCP


@pytest.mark.slow
def test_the_db_tests_pass_against_a_galera_node(galera, app_db, build_dir):
    binary = build_dir / "tests" / "authfcgi_db_tests"
    assert binary.exists(), f"the DB test binary is missing: {binary}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHFCGI_TEST_DB_")}
    env.update(AUTHFCGI_TEST_DB_HOST="127.0.0.1", AUTHFCGI_TEST_DB_PORT=str(galera.nodes[1].port),
               AUTHFCGI_TEST_DB_USER=app_db.user, AUTHFCGI_TEST_DB_PASSWORD=app_db.password,
               AUTHFCGI_TEST_DB_NAME=app_db.test_name, AUTHFCGI_TEST_DB_GALERA="1")
    done = subprocess.run([str(binary)], env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    failures = [line for line in done.stdout.splitlines()
                if re.match(r"\[  FAILED|.*(Failure|error)", line)]
    assert done.returncode == 0, "\n".join(failures[:20]) or done.stdout[-3000:]
    assert re.search(r"^\[\s+OK", done.stdout, re.M), "no test ran"
