{{ config(materialized="view") }}
-- Dossier versions with what every daily state needs derived once: the due date in force
-- (extended after a supplement) and when handling ended, if it has (macros/dossier_versions.sql).
{{ derived_dossier_versions(ref('stg_dossier_versions')) }}
