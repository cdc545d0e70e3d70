"""polyglot_ner: polyglot named-entity recognition in JAX/Flax.

Reproduces and extends Mueller, Andrews & Dredze (ACL 2020), *Sources of Transfer in
Multilingual Named Entity Recognition*.
"""

__version__ = "0.1.0"
