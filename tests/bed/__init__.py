"""The test bed: real OCI images built offline, and real registries on 127.0.0.1.

There is no Docker Hub here (DESIGN §9), so the integration suite pulls from the
Debian distribution registry, filled with images this package builds itself:

  images.py    build the images once, as root, into a cache of OCI layouts
  oci.py       deterministic layer tars and OCI layout writing (no tools needed)
  rootfs.py    debootstrap, chroot steps and the rootfs diff that makes a layer
  fixtures.py  the synthetic images: busybox, layers (storage edge cases), many
  registry.py  start/stop registries (plain and basic-auth) and push the images
  user.sh      create the unprivileged user the suite runs as

Standard library only: the bed must work before pdman's own dependencies install.
"""
