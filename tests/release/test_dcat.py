"""The DCAT-AP 3 catalogue of a release conforms to the official SHACL shapes and keeps the four
dates apart."""

from __future__ import annotations

from pathlib import Path

import pyshacl
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SH, XSD

SHAPES = Path(__file__).parent / "data" / "dcat-ap-3.0.1-shacl.ttl"
SPDX = Namespace("http://spdx.org/rdf/terms#")


def catalogue(run) -> Graph:
    return Graph().parse(run.open_dir / "latest" / "dcat.jsonld", format="json-ld")


def test_the_catalogue_conforms_to_dcat_ap_3(pipeline_run):
    assert SHAPES.stat().st_size > 100_000  # the shapes, not an empty stand-in
    conforms, report, text = pyshacl.validate(catalogue(pipeline_run), shacl_graph=Graph().parse(SHAPES), inference="none")
    violations = list(report.subjects(SH.resultSeverity, SH.Violation))
    assert conforms and not violations, text


def test_mandatory_and_recommended_properties(pipeline_run):
    g = catalogue(pipeline_run)
    [dataset] = g.subjects(RDF.type, DCAT.Dataset)
    for lang in ("vi", "en"):
        assert any(t.language == lang for t in g.objects(dataset, DCTERMS.title))
        assert any(t.language == lang for t in g.objects(dataset, DCTERMS.description))
    assert (g.value(dataset, DCTERMS.publisher), RDF.type, FOAF.Agent) in g
    assert g.value(dataset, DCAT.contactPoint) is not None
    assert len(list(g.objects(dataset, DCAT.keyword))) >= 4
    assert g.value(dataset, DCAT.theme) is not None
    assert str(g.value(dataset, DCTERMS.spatial)).endswith("/country/VNM")
    assert str(g.value(dataset, DCTERMS.accrualPeriodicity)).endswith("/frequency/DAILY")
    assert Literal("1.0.0") in g.objects(dataset, URIRef(str(DCAT) + "version"))
    distributions = list(g.objects(dataset, DCAT.distribution))
    assert len(distributions) == 7 * 4 + 1
    for dist in distributions:
        assert g.value(dist, DCAT.mediaType) is not None and g.value(dist, DCAT.downloadURL) is not None
        assert g.value(dist, DCAT.byteSize).datatype == XSD.nonNegativeInteger
        checksum = g.value(dist, SPDX.checksum)
        assert (checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256) in g
        assert len(str(g.value(checksum, SPDX.checksumValue))) == 64
        assert g.value(dist, DCTERMS.license) is not None


def test_the_four_dates_are_kept_apart(pipeline_run):
    g = catalogue(pipeline_run)
    [dataset] = g.subjects(RDF.type, DCAT.Dataset)
    [record] = g.subjects(RDF.type, DCAT.CatalogRecord)
    period = g.value(dataset, DCTERMS.temporal)
    assert str(g.value(period, DCAT.startDate)) == "2025-03-03" and str(g.value(period, DCAT.endDate)) == "2025-03-04"
    as_of = str(g.value(dataset, DCTERMS.modified))  # data as of: when the sources were last read
    published = str(g.value(dataset, DCTERMS.issued))
    metadata_modified = str(g.value(record, DCTERMS.modified))
    assert as_of == "2025-03-05T00:00:00+07:00"
    assert published and metadata_modified and as_of != published
