"""History: the recorder sink (controller.history.recorder), its [history] section (.config), the tables
(.schema) and the reader (.reader). Nothing is re-exported here, so that reading the configuration does
not import SQLAlchemy.
"""
