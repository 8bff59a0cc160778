-- One row per dossier version (dossier_code, updated_at), as landed. Types pinned here, once.
-- A view (macros/dossier_versions.sql): the dossier-interval table reads only the days it
-- rebuilds, from their folders, and so do this view's data tests (macros/test_scope.sql),
-- which need the grid built first:
-- depends_on: {{ ref('stg_validated_partitions') }}
{{ typed_dossier_versions(source('landed', 'dossiers')) }}
