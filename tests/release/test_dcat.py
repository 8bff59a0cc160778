"""The DCAT-AP 3 catalogue of a release conforms to the official SHACL shapes and keeps the four
dates apart."""

from __future__ import annotations

import json
from pathlib import Path

import pyshacl
from rdflib import Graph, Literal, Namespace, URIRef
import rdflib.namespace as ns

SHAPES = Path(__file__).parent / "data" / "dcat-ap-3.0.1-shacl.ttl"
SPDX = Namespace("http://spdx.org/rdf/terms#")


def catalogue(run) -> Graph:
    return Graph().parse(run.open_dir / "latest" / "dcat.jsonld", format="json-ld")


def official_shapes() -> Graph:
    """DCAT-AP 3.0.1's shapes. Two of the DataService shape's `sh:property` references
    (…/dc08f4dc…, …/eb3ac4e4…) name property shapes the file never defines, which pyshacl
    refuses to run; those two dangling references are dropped, every defined shape is kept."""
    shapes = Graph().parse(SHAPES)
    dangling = [(s, o) for s, o in shapes.subject_objects(ns.SH.property) if (o, None, None) not in shapes]
    assert len(dangling) == 2
    for s, o in dangling:
        shapes.remove((s, ns.SH.property, o))
    return shapes


def test_the_catalogue_conforms_to_dcat_ap_3(pipeline_run):
    assert SHAPES.stat().st_size > 100_000  # the shapes, not an empty stand-in
    conforms, report, text = pyshacl.validate(catalogue(pipeline_run), shacl_graph=official_shapes(), inference="none")
    violations = list(report.subjects(ns.SH.resultSeverity, ns.SH.Violation))
    assert conforms and not violations, text


def test_mandatory_and_recommended_properties(pipeline_run):
    g = catalogue(pipeline_run)
    [dataset] = g.subjects(ns.RDF.type, ns.DCAT.Dataset)
    for lang in ("vi", "en"):
        assert any(t.language == lang for t in g.objects(dataset, ns.DCTERMS.title))
        assert any(t.language == lang for t in g.objects(dataset, ns.DCTERMS.description))
    assert (g.value(dataset, ns.DCTERMS.publisher), ns.RDF.type, ns.FOAF.Agent) in g
    assert g.value(dataset, ns.DCAT.contactPoint) is not None
    assert len(list(g.objects(dataset, ns.DCAT.keyword))) >= 4
    assert g.value(dataset, ns.DCAT.theme) is not None
    assert str(g.value(dataset, ns.DCTERMS.spatial)).endswith("/country/VNM")
    assert str(g.value(dataset, ns.DCTERMS.accrualPeriodicity)).endswith("/frequency/DAILY")
    assert Literal("1.0.0") in g.objects(dataset, URIRef(str(ns.DCAT) + "version"))
    distributions = list(g.objects(dataset, ns.DCAT.distribution))
    package = json.loads((pipeline_run.open_dir / "latest" / "datapackage.json").read_text(encoding="utf-8"))
    assert len(distributions) == len(package["resources"]) + 1 >= 7 * 4 + 1
    for dist in distributions:
        assert g.value(dist, ns.DCAT.mediaType) is not None and g.value(dist, ns.DCAT.downloadURL) is not None
        assert g.value(dist, ns.DCAT.byteSize).datatype == ns.XSD.nonNegativeInteger
        checksum = g.value(dist, SPDX.checksum)
        assert (checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256) in g
        assert len(str(g.value(checksum, SPDX.checksumValue))) == 64
        assert g.value(dist, ns.DCTERMS.license) is not None


def test_the_four_dates_are_kept_apart(pipeline_run):
    g = catalogue(pipeline_run)
    [dataset] = g.subjects(ns.RDF.type, ns.DCAT.Dataset)
    [record] = g.subjects(ns.RDF.type, ns.DCAT.CatalogRecord)
    period = g.value(dataset, ns.DCTERMS.temporal)
    assert str(g.value(period, ns.DCAT.startDate)) == "2025-03-03" and str(g.value(period, ns.DCAT.endDate)) == "2025-03-04"
    as_of = str(g.value(dataset, ns.DCTERMS.modified))  # data as of: when the sources were last read
    published = str(g.value(dataset, ns.DCTERMS.issued))
    metadata_modified = str(g.value(record, ns.DCTERMS.modified))
    assert as_of == "2025-03-05T00:00:00+07:00"
    assert published and metadata_modified and as_of != published


def test_the_query_api_is_a_data_service_serving_the_dataset(pipeline_run):
    g = catalogue(pipeline_run)
    [dataset] = g.subjects(ns.RDF.type, ns.DCAT.Dataset)
    [service] = g.subjects(ns.RDF.type, ns.DCAT.DataService)
    assert (service, ns.DCAT.servesDataset, dataset) in g
    assert str(g.value(service, ns.DCAT.endpointURL)).endswith("/api/v1-0-0")
    assert "1000" in " ".join(str(d) for d in g.objects(service, ns.DCTERMS.description))
    accessed = [d for d in g.objects(dataset, ns.DCAT.distribution) if (d, ns.DCAT.accessService, service) in g]
    assert [str(g.value(d, ns.DCAT.downloadURL)).rsplit("/", 1)[1] for d in accessed] == ["vn-egov-kpi.sqlite"]
