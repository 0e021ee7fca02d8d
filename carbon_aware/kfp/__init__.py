"""The KFP side of the project: the pipeline's components and the pipeline itself.

``carbon_aware.kfp.components`` and ``carbon_aware.kfp.pipelines`` are installed from the
repository's top-level ``components/`` and ``pipelines/`` folders (setuptools ``package-dir``), so
installing the project adds one import package, ``carbon_aware``, and never clashes with a team's
own ``components`` or ``pipelines`` packages.
"""
