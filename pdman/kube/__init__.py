"""Kubernetes YAML <-> engine options (issue #17); no runtime of its own.

    documents.py  reading and writing YAML (PyYAML, imported only here), quantities
    play.py       YAML -> a checked plan: the volumes and pods (create options) to make
    generate.py   container/pod configs -> Pod, Deployment and Service documents

`engine/kube.py` runs a plan with the ordinary pod, container and volume verbs, and
gathers the configs that `generate` turns into YAML.
"""
