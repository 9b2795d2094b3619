"""The analysts' public API: pseudonymised delivery data from the journal.

Everything here returns pandas frames that hold no personal data: no names,
phones, streets, postcodes or coordinates of senders, recipients or drivers,
no package codes (parcels appear under keyed pseudonyms, see
:mod:`controlroom.analytics.pseudonyms`), no actors and no Bitcoin
addresses. Notebooks import from this module only::

    engine = open_database()
    events = parcel_events(engine, day=order_days(engine)[-1])
    flow = parcel_flow(events, freq="15min")
    performance = delivery_performance(events, by="channel")
"""

from controlroom.analytics.events import (
    EVENT_COLUMNS,
    PARCEL_STATES,
    open_database,
    order_days,
    parcel_events,
)
from controlroom.analytics.flow import (
    FLOW_STATES,
    PERFORMANCE_COLUMNS,
    delivery_performance,
    parcel_flow,
)

__all__ = [
    "EVENT_COLUMNS",
    "FLOW_STATES",
    "PARCEL_STATES",
    "PERFORMANCE_COLUMNS",
    "delivery_performance",
    "open_database",
    "order_days",
    "parcel_events",
    "parcel_flow",
]
