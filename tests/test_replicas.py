"""Several replicas as one, checked from outside: a real PostgreSQL 15, a real Chroma server and
two real `policy-assistant serve` processes sharing them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from .postgres import PostgresServer


def test_a_stopped_postgres_comes_back_with_its_data_on_the_same_address(
    postgres_server: PostgresServer, fresh_postgres_url: str
) -> None:
    engine = sa.create_engine(fresh_postgres_url, pool_pre_ping=True)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE kept (n integer)"))
            connection.execute(sa.text("INSERT INTO kept VALUES (1)"))
        postgres_server.stop()
        with pytest.raises(sa.exc.OperationalError), engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        postgres_server.start()
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT n FROM kept")).scalar_one() == 1
    finally:
        engine.dispose()
