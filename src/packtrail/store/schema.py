"""Every table of the EPCIS repository, as SQLAlchemy 2 Core ``Table`` objects on one ``metadata``.

One row in ``events`` keeps each captured EPCIS event exactly as captured (``document``, orjson bytes,
with the repository's ``recordTime`` and a filled-in ``eventID``); the ``event_*`` index tables hold one
row per queryable value (an EPC by role, a quantity class, a bizTransaction, a source/destination, an
extension or ILMD field, a sensor report...), each with an index that leads with the value and ends in
``event_pk``, so every SimpleEventQuery parameter is an index range scan joined on ``event_pk``.

Conventions:

- times are integers, microseconds since the Unix epoch in UTC (columns ending in ``_us``);
- ``event_pk`` is a 64-bit integer allocated by capture from the ``store_counters`` row ``'event_pk'``,
  so ``event_pk`` order is commit order is recordTime order;
- no foreign keys from index tables to ``events``: on PostgreSQL ``events`` is partitioned by
  ``event_time_us`` (see :mod:`packtrail.store.partitions`), and its primary key there is
  ``(event_pk, event_time_us)``; the migration creates that form, this module describes the columns;
- ``dist_key`` is a signed 32-bit hash of the event's primary identifier (parentID, else the first EPC,
  else the first class, else the eventID): the distribution column should the schema move to a
  distributed PostgreSQL (Citus), so that the events of one pack or pallet live on one node.

Moving to Citus: ``events`` becomes ``SELECT create_distributed_table('events', 'dist_key')`` (Citus wants
the distribution column in every unique constraint, so its primary key grows to
``(event_pk, event_time_us, dist_key)``); the ``event_*`` index tables, keyed by ``event_pk`` alone, are
distributed by ``event_pk`` (a lookup by value fans out to every node, then fetches the events by key);
``event_keys``, ``event_visibility`` and the small tables (counters, settings, parties, keys, captures,
outbox, vocabularies, named queries, subscriptions) become reference tables or stay on the coordinator.
Partitioning by ``event_time_us`` carries over (Citus distributes each partition). No column changes.

>>> sorted(t for t in metadata.tables if t.startswith("event_"))[:4]
['event_biz_transactions', 'event_corrective_ids', 'event_epc_classes', 'event_epcs']
>>> [c.name for c in event_epcs.columns]
['event_pk', 'role', 'epc', 'event_time_us']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
)

metadata: Final = MetaData()

#: 64-bit on PostgreSQL; ``INTEGER`` on SQLite so that an ``INTEGER PRIMARY KEY`` is the rowid.
PK_BIGINT: Final = BigInteger().with_variant(Integer(), "sqlite")

# -- roles and kinds (values of the SmallInteger columns) -------------------------------------------------

ROLE_EPC_LIST: Final = 1
"""``event_epcs.role``: the event's ``epcList``; ``event_quantities.role``: its ``quantityList``."""
ROLE_CHILD: Final = 2
"""``childEPCs`` (``event_epcs``) or ``childQuantityList`` (``event_quantities``) of an AggregationEvent."""
ROLE_PARENT: Final = 3
"""``parentID`` of an AggregationEvent / AssociationEvent / TransactionEvent (``event_epcs`` only)."""
ROLE_INPUT: Final = 4
"""``inputEPCList`` / ``inputQuantityList`` of a TransformationEvent."""
ROLE_OUTPUT: Final = 5
"""``outputEPCList`` / ``outputQuantityList`` of a TransformationEvent."""
EPC_ROLES: Final = frozenset({ROLE_EPC_LIST, ROLE_CHILD, ROLE_PARENT, ROLE_INPUT, ROLE_OUTPUT})
"""Every role an ``event_epcs`` or ``event_epc_classes`` row can have: a match asking for all of them
(``MATCH_anyEPC``) needs no test of the role, and its index range alone answers it."""

PARTY_SOURCE: Final = 1
"""``event_parties.kind`` for an entry of ``sourceList``."""
PARTY_DESTINATION: Final = 2
"""``event_parties.kind`` for an entry of ``destinationList``."""

PERSISTENT_SET: Final = 1
"""``event_persistent_dispositions.kind`` for a ``persistentDisposition.set`` value."""
PERSISTENT_UNSET: Final = 2
"""``event_persistent_dispositions.kind`` for a ``persistentDisposition.unset`` value."""

EVENT_PK_COUNTER: Final = "event_pk"
"""Name of the ``store_counters`` row holding the last assigned ``event_pk`` (and serialising captures)."""
RECORD_TIME_COUNTER: Final = "record_time_us"
"""Name of the ``store_counters`` row holding the last recordTime given (microseconds)."""
TOKEN_SECRET_SETTING: Final = "token_secret"
"""Name of the ``store_settings`` row holding the store's random signing key (hex)."""

# -- bookkeeping ------------------------------------------------------------------------------------------

store_counters: Final = Table(
    "store_counters",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", BigInteger, nullable=False),
)
"""Named counters. Row ``'event_pk'``: the last assigned event_pk (capture locks this row first, which
serialises captures); row ``'record_time_us'``: the last recordTime given, so recordTimes never go back."""

store_settings: Final = Table(
    "store_settings",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
"""Per-store text settings. Row ``'token_secret'``: random hex key (created by the migration) for signing
opaque values such as query ``nextPageToken``s."""

# -- events -----------------------------------------------------------------------------------------------

events: Final = Table(
    "events",
    metadata,
    Column("event_pk", PK_BIGINT, primary_key=True, autoincrement=False),
    Column("event_time_us", BigInteger, nullable=False),
    Column("event_tz", Text, nullable=False),
    Column("record_time_us", BigInteger, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("action", Text),
    Column("biz_step", Text),
    Column("disposition", Text),
    Column("read_point", Text),
    Column("biz_location", Text),
    Column("transformation_id", Text),
    Column("event_id", Text, nullable=False),
    Column("event_hash", Text, nullable=False),
    Column("capture_id", Text, nullable=False),
    Column("captured_by", Text),
    Column("dist_key", Integer, nullable=False),
    Column("namespaces_id", Integer),
    Column("document", LargeBinary, nullable=False),
    Index("ix_events_event_time", "event_time_us", "event_pk"),
    Index("ix_events_record_time", "record_time_us", "event_pk"),
    Index("ix_events_biz_step", "biz_step", "event_pk", "event_time_us"),
    Index("ix_events_biz_step_time", "biz_step", "event_time_us", "event_pk", info={"dialects": ("sqlite",)}),
    Index("ix_events_disposition", "disposition", "event_pk"),
    Index("ix_events_read_point", "read_point", "event_pk"),
    Index("ix_events_biz_location", "biz_location", "event_pk"),
    Index("ix_events_event_type", "event_type", "event_pk"),
)
"""One row per captured event; ``document`` is the event's JSON (orjson bytes) as returned by queries.
``biz_step``/``disposition`` hold the bare CBV word (``shipping``) for CBV terms, else the URI as given.
``ix_events_biz_step`` hands out one bizStep's events in capture order (a page walk stops after a page),
testing the eventTime in the index; ``ix_events_biz_step_time`` (SQLite only, ``info["dialects"]``) finds
one bizStep's events in a narrow eventTime window in one range (revision 0005 explains both)."""

event_keys: Final = Table(
    "event_keys",
    metadata,
    Column("event_hash", Text, primary_key=True),
    Column("event_id", Text, nullable=False, unique=True),
    Column("event_pk", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
"""Deduplication: an event whose eventID or canonical event hash is already here is a duplicate.
(SQLite: a ``WITHOUT ROWID`` table, so the primary key is the table and not one more index.) Also where
an eventID is looked up (``events`` has no index of its own on it, revision 0009): ``event_id`` is the
event's eventID (its hash when it came without one), followed by :data:`DECLARATION_KEY` for an error
declaration; ``events.event_id`` holds the same without the suffix."""

DECLARATION_KEY: Final = " errorDeclaration"
"""Suffix of the dedup keys of an event carrying an errorDeclaration: the declaration repeats the
original's eventID and hash (both leave errorDeclaration out), yet is a new event to store."""


def event_id_keys(event_ids: Sequence[str]) -> list[str]:
    """The ``event_keys.event_id`` values of the events with these eventIDs: each as it is and as an
    error declaration's.

    >>> event_id_keys(["urn:uuid:1"])
    ['urn:uuid:1', 'urn:uuid:1 errorDeclaration']
    """
    return [key for event_id in event_ids for key in (event_id, event_id + DECLARATION_KEY)]


contexts: Final = Table(
    "contexts",
    metadata,
    Column("namespaces_id", Integer, primary_key=True, autoincrement=True),
    Column("digest", Text, nullable=False, unique=True),
    Column("namespaces", Text, nullable=False),
)
"""Extension namespaces (JSON object prefix -> URI) of captured documents, shared by their events."""


def _index_table(
    name: str, *columns: Column[Any], value_index: tuple[str, ...], include: tuple[str, ...] = ()
) -> Table:
    """An index table: ``event_pk`` plus ``columns``; indexes on ``value_index + event_pk`` (carrying
    ``include`` as well on PostgreSQL) and event_pk."""
    value = Index(f"ix_{name}_value", *value_index, "event_pk", postgresql_include=list(include))
    return Table(
        name,
        metadata,
        Column("event_pk", BigInteger, nullable=False),
        *columns,
        value,
        Index(f"ix_{name}_event_pk", "event_pk"),
    )


event_epcs: Final = _index_table(
    "event_epcs",
    Column("role", SmallInteger, nullable=False),
    Column("epc", Text, nullable=False),
    Column("event_time_us", BigInteger),
    value_index=("epc",),
    include=("event_time_us",),
)
"""EPCs by role (``ROLE_*``), in canonical URN form (``urn:epc:id:sgtin:…``) when convertible, with the
event's eventTime (revision 0008; capture always writes it).

The eventTime is there for PostgreSQL, whose ``events`` are partitioned by it: an EPC's events found in
``ix_event_epcs_value`` (which carries the eventTime, ``INCLUDE``) are fetched by ``(event_pk,
event_time_us)``, so each probes the one partition that holds it instead of every month's primary key
(at 10,000,000 events over a year, 13 index probes per event, most of them reads of cold pages)."""

event_epc_classes: Final = Table(
    "event_epc_classes",
    metadata,
    Column("event_pk", BigInteger, nullable=False),
    Column("role", SmallInteger, nullable=False),
    Column("epc_class", Text, nullable=False),
    Column("event_time_us", BigInteger, nullable=False),
    Column("biz_step", Text),
    Index("ix_event_epc_classes_value", "epc_class", "event_time_us", "role", "event_pk"),
    Index("ix_event_epc_classes_step", "epc_class", "biz_step", "event_time_us", "role", "event_pk"),
    Index("ix_event_epc_classes_event_pk", "event_pk"),
)
"""The classes of an event's EPCs by role, once per event, class and role: the class key of each
canonical instance EPC (:func:`packtrail.store.identifiers.epc_class_key`, ``urn:epc:id:sgtin:CP.ITEM.``)
and the event's eventTime and bizStep (as ``events`` holds them). An EPC pattern that stops within the
class (``urn:epc:idpat:sgtin:CP.ITEM.*``) is a range over ``ix_event_epc_classes_value`` (class,
eventTime) or, with ``EQ_bizStep``, ``ix_event_epc_classes_step`` (class, bizStep, eventTime): one
product's commissioning in a week is one short index range, where ``event_epcs`` holds one row per pack
of every event of the product (revision 0007)."""

event_quantities: Final = _index_table(
    "event_quantities",
    Column("role", SmallInteger, nullable=False),
    Column("epc_class", Text, nullable=False),
    Column("quantity", Float),
    Column("uom", Text),
    value_index=("epc_class",),
)
"""Quantity elements by role; ``epc_class`` canonical (``urn:epc:class:lgtin:…``) when convertible."""

event_biz_transactions: Final = _index_table(
    "event_biz_transactions",
    Column("type", Text, nullable=False),
    Column("value", Text, nullable=False),
    value_index=("value",),
)
"""bizTransactionList entries; ``type`` is ``''`` when the entry has none, else the bare CBV word."""

event_parties: Final = _index_table(
    "event_parties",
    Column("kind", SmallInteger, nullable=False),
    Column("type", Text, nullable=False),
    Column("value", Text, nullable=False),
    value_index=("value",),
)
"""sourceList (kind 1) and destinationList (kind 2) entries; ``type`` the bare CBV word (``owning_party``)."""

event_fields: Final = Table(
    "event_fields",
    metadata,
    Column("event_pk", BigInteger, nullable=False),
    Column("section", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("depth", SmallInteger, nullable=False),
    Column("value_text", Text),
    Column("value_num", Float),
    Column("value_time_us", BigInteger),
    Index("ix_event_fields_text", "name", "value_text", "event_pk"),
    Index("ix_event_fields_num", "name", "value_num", "event_pk"),
    Index("ix_event_fields_time", "name", "value_time_us", "event_pk"),
    Index("ix_event_fields_event_pk", "event_pk"),
)
"""Extension, ILMD, readPoint/bizLocation, errorDeclaration and sensor extension fields.

``section`` is ``''`` (event top level), ``'ilmd'``, ``'readPoint'``, ``'bizLocation'``,
``'errorDeclaration'``, ``'sensorElement'``, ``'sensorMetadata'`` or ``'sensorReport'``; ``name`` is
``{namespace URI}#{local name}``; ``depth`` 1 = direct child of the section, >1 = nested."""

event_sensor: Final = Table(
    "event_sensor",
    metadata,
    Column("event_pk", BigInteger, nullable=False),
    Column("element_idx", SmallInteger),
    Column("report_idx", SmallInteger),
    Column("device_id", Text),
    Column("device_metadata", Text),
    Column("raw_data", Text),
    Column("data_processing_method", Text),
    Column("biz_rules", Text),
    Column("time_us", BigInteger),
    Column("start_time_us", BigInteger),
    Column("end_time_us", BigInteger),
    Column("type", Text),
    Column("exception", Text),
    Column("microorganism", Text),
    Column("chemical_substance", Text),
    Column("component", Text),
    Column("string_value", Text),
    Column("boolean_value", Boolean),
    Column("hex_binary_value", Text),
    Column("uri_value", Text),
    Column("value", Float),
    Column("min_value", Float),
    Column("max_value", Float),
    Column("mean_value", Float),
    Column("s_dev", Float),
    Column("perc_rank", Float),
    Column("perc_value", Float),
    Column("uom", Text),
    Column("coordinate_reference_system", Text),
    Index("ix_event_sensor_type", "type", "event_pk"),
    Index("ix_event_sensor_device_id", "device_id", "event_pk"),
    Index("ix_event_sensor_event_pk", "event_pk"),
)
"""One row per sensorReport (sensorMetadata fields repeated on each); ``type`` bare (``Temperature``)."""

SENSOR_COLUMNS: Final[tuple[str, ...]] = tuple(c.name for c in event_sensor.columns if c.name != "event_pk")
"""The ``event_sensor`` columns an index-row builder may fill (every column but ``event_pk``)."""

event_errors: Final = _index_table(
    "event_errors",
    Column("declaration_time_us", BigInteger, nullable=False),
    Column("reason", Text),
    value_index=("declaration_time_us",),
)
"""errorDeclaration of an event: its declarationTime and reason (bare CBV word when a CBV term)."""

event_corrective_ids: Final = _index_table(
    "event_corrective_ids",
    Column("corrective_event_id", Text, nullable=False),
    value_index=("corrective_event_id",),
)
"""errorDeclaration.correctiveEventIDs."""

event_persistent_dispositions: Final = _index_table(
    "event_persistent_dispositions",
    Column("kind", SmallInteger, nullable=False),
    Column("value", Text, nullable=False),
    value_index=("value",),
)
"""persistentDisposition ``set`` (kind 1) and ``unset`` (kind 2) values, bare CBV words."""

event_visibility: Final = Table(
    "event_visibility",
    metadata,
    Column("party", Text, nullable=False),
    Column("event_pk", BigInteger, nullable=False),
    PrimaryKeyConstraint("party", "event_pk"),
    Index("ix_event_visibility_event_pk", "event_pk"),
    sqlite_with_rowid=False,
)
"""A party (13-digit GLN) may see an event when a row (party, event_pk) exists."""

INDEX_TABLES: Final[tuple[Table, ...]] = (
    event_epcs,
    event_epc_classes,
    event_quantities,
    event_biz_transactions,
    event_parties,
    event_fields,
    event_sensor,
    event_errors,
    event_corrective_ids,
    event_persistent_dispositions,
)
"""Every per-event index table (all keyed by ``event_pk``), visibility excluded."""

# -- master data ------------------------------------------------------------------------------------------

vocabularies: Final = Table(
    "vocabularies",
    metadata,
    Column("vocab_type", Text, nullable=False),
    Column("uri", Text, nullable=False),
    Column("attributes", Text, nullable=False),
    Column("children", Text, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("vocab_type", "uri"),
)
"""Master data elements from EPCIS headers (``attributes``: JSON object id -> value; ``children``: JSON
list of child URIs), e.g. vocab_type ``urn:epcglobal:epcis:vtype:BusinessLocation``."""

vocabulary_children: Final = Table(
    "vocabulary_children",
    metadata,
    Column("vocab_type", Text, nullable=False),
    Column("parent_uri", Text, nullable=False),
    Column("child_uri", Text, nullable=False),
    PrimaryKeyConstraint("vocab_type", "parent_uri", "child_uri"),
)
"""Direct parent -> child edges of the master data hierarchy (for ``WD_readPoint`` / ``WD_bizLocation``)."""

# -- parties and access -----------------------------------------------------------------------------------

parties: Final = Table(
    "parties",
    metadata,
    Column("gln", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)
"""Trading partners known to this node, by 13-digit GLN."""

api_keys: Final = Table(
    "api_keys",
    metadata,
    Column("key_hash", Text, primary_key=True),
    Column("party_gln", Text, nullable=False),
    Column("label", Text),
    Column("created_at_us", BigInteger, nullable=False),
    Column("revoked_at_us", BigInteger),
    Index("ix_api_keys_party", "party_gln"),
)
"""API keys by SHA-256 hex of the key (the key itself is never stored)."""

# -- capture jobs and outbox ------------------------------------------------------------------------------

captures: Final = Table(
    "captures",
    metadata,
    Column("capture_id", Text, primary_key=True),
    Column("party", Text),
    Column("created_at_us", BigInteger, nullable=False),
    Column("finished_at_us", BigInteger),
    Column("running", Boolean, nullable=False),
    Column("success", Boolean),
    Column("behaviour", Text, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("captured", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("errors", Text, nullable=False),
    Index("ix_captures_party", "party", "created_at_us"),
    Index("ix_captures_created", "created_at_us"),
)
"""Capture jobs: counts and errors (JSON list of {type, title, detail, pointer})."""

outbox: Final = Table(
    "outbox",
    metadata,
    Column("outbox_pk", PK_BIGINT, primary_key=True, autoincrement=True),
    Column("capture_id", Text, nullable=False),
    Column("first_event_pk", BigInteger, nullable=False),
    Column("last_event_pk", BigInteger, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("published_through", BigInteger),
    Column("done", Boolean, nullable=False),
    Index("ix_outbox_done", "done", "outbox_pk"),
)
"""One row per committed capture that stored events: the relay publishes ``first..last_event_pk``."""

# -- named queries and subscriptions ----------------------------------------------------------------------

named_queries: Final = Table(
    "named_queries",
    metadata,
    Column("name", Text, primary_key=True),
    Column("owner", Text),
    Column("params", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)
"""Named queries: ``params`` is JSON, a list of [name, value] pairs or a JSON query body."""

subscriptions: Final = Table(
    "subscriptions",
    metadata,
    Column("subscription_id", Text, primary_key=True),
    Column("query_name", Text, nullable=False),
    Column("owner", Text),
    Column("dest", Text),
    Column("secret", Text),
    Column("stream", Boolean, nullable=False),
    Column("schedule", Text),
    Column("report_if_empty", Boolean, nullable=False),
    Column("initial_record_time_us", BigInteger),
    Column("last_event_pk", BigInteger, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("active", Boolean, nullable=False),
    Index("ix_subscriptions_query", "query_name"),
)
"""Subscriptions to named queries; ``last_event_pk`` is the resume point of delivery."""

subscription_dead_letters: Final = Table(
    "subscription_dead_letters",
    metadata,
    Column("id", PK_BIGINT, primary_key=True, autoincrement=True),
    Column("subscription_id", Text, nullable=False),
    Column("first_event_pk", BigInteger, nullable=False),
    Column("last_event_pk", BigInteger, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Index("ix_subscription_dead_letters_sub", "subscription_id", "id"),
)
"""Deliveries given up after the retries: kept for inspection and replay."""
