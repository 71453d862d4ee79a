"""Pages of the records (placeholder until written)."""

from litestar import Controller


class RecordsPagesController(Controller):
    path = "/records"
    include_in_schema = False
