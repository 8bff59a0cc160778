"""The DCAT-AP 3 catalogue of a release (`dcat.jsonld`), built with rdflib.

The four dates are kept apart, each on the property DCAT gives it:
- period covered: the dataset's `dct:temporal` (a `dct:PeriodOfTime`);
- data as-of (when the sources were last read): the dataset's `dct:modified`;
- published: `dct:issued` of the dataset and of each distribution;
- metadata modified: `dct:modified` of the catalogue record (and of the catalogue).
"""

from __future__ import annotations

from datetime import date, datetime

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

from pipelines.lib.release import metadata
from pipelines.lib.release.database import DATABASE_FILE

SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "http://www.iana.org/assignments/media-types/"
THEME = URIRef(EU + "data-theme/GOVE")
VIETNAM = URIRef(EU + "country/VNM")
LANGUAGES = [URIRef(EU + "language/VIE"), URIRef(EU + "language/ENG")]


def _texts(graph: Graph, subject, predicate, texts: dict[str, str]) -> None:
    for lang, text in texts.items():
        graph.add((subject, predicate, Literal(text, lang=lang)))


def _when(value: datetime | date | str) -> Literal:
    text = value if isinstance(value, str) else value.isoformat()
    return Literal(text, datatype=XSD.dateTime if "T" in text else XSD.date)


def _typed(graph: Graph, iri: str, kind) -> URIRef:
    node = URIRef(iri)
    graph.add((node, RDF.type, kind))
    return node


def catalogue(version: str, previous: str | None, dates: dict, files: list[dict]) -> Graph:
    """`dates`: period_start, period_end, data_as_of, published, metadata_modified (ISO 8601).
    `files`: name, title, description, mediatype, eu_file_type, bytes, sha256 for each download."""
    base = metadata.base_url()
    release = f"{base}releases/{version}/"
    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("spdx", SPDX), ("vcard", VCARD), ("adms", ADMS), ("skos", SKOS)):
        g.bind(prefix, ns)

    catalog = _typed(g, f"{base}#catalogue", DCAT.Catalog)
    dataset = _typed(g, f"{release}dcat.jsonld#dataset", DCAT.Dataset)
    g.add((dataset, RDF.type, DCAT.Resource))  # stated, for validators that do not infer it
    record = _typed(g, f"{release}dcat.jsonld#record", DCAT.CatalogRecord)
    publisher = _typed(g, f"{base}#publisher", FOAF.Agent)
    _texts(g, publisher, FOAF.name, metadata.PUBLISHER["name"])
    contact = _typed(g, f"{base}#contact", VCARD.Organization)
    g.add((contact, RDF.type, VCARD.Kind))
    _texts(g, contact, VCARD.fn, metadata.PUBLISHER["name"])
    g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{metadata.PUBLISHER['email']}")))
    licence = _typed(g, metadata.LICENSE["path"], DCTERMS.LicenseDocument)
    g.add((licence, DCTERMS.title, Literal(metadata.LICENSE["title"], lang="en")))

    _texts(g, catalog, DCTERMS.title, {lang: f"Dữ liệu mở / Open data: {t}" for lang, t in metadata.TITLE.items()})
    _texts(g, catalog, DCTERMS.description, metadata.DESCRIPTION)
    g.add((catalog, DCTERMS.publisher, publisher))
    g.add((catalog, FOAF.homepage, _typed(g, base, FOAF.Document)))
    g.add((catalog, DCTERMS.license, licence))
    g.add((catalog, DCTERMS.modified, _when(dates["metadata_modified"])))
    g.add((catalog, DCAT.dataset, dataset))
    g.add((catalog, DCAT.record, record))
    for language in LANGUAGES:
        g.add((catalog, DCTERMS.language, language))
        g.add((language, RDF.type, DCTERMS.LinguisticSystem))

    g.add((record, FOAF.primaryTopic, dataset))
    g.add((record, DCTERMS.modified, _when(dates["metadata_modified"])))
    g.add((record, DCTERMS.issued, _when(dates["published"])))

    _texts(g, dataset, DCTERMS.title, metadata.TITLE)
    _texts(g, dataset, DCTERMS.description, metadata.DESCRIPTION)
    g.add((dataset, DCTERMS.identifier, Literal(f"{metadata.DATASET_NAME}/{version}")))
    g.add((dataset, URIRef(str(DCAT) + "version"), Literal(version)))  # DCAT 3 term, unknown to rdflib
    g.add((dataset, DCTERMS.publisher, publisher))
    g.add((dataset, DCAT.contactPoint, contact))
    g.add((dataset, DCAT.landingPage, _typed(g, base, FOAF.Document)))
    for lang, words in metadata.KEYWORDS.items():
        for word in words:
            g.add((dataset, DCAT.keyword, Literal(word, lang=lang)))
    g.add((dataset, DCAT.theme, THEME))
    g.add((THEME, RDF.type, SKOS.Concept))
    _texts(g, THEME, SKOS.prefLabel, {"vi": "Chính phủ và khu vực công", "en": "Government and public sector"})
    g.add((SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm))
    g.add((dataset, DCTERMS.spatial, VIETNAM))
    g.add((VIETNAM, RDF.type, DCTERMS.Location))
    period = BNode()
    g.add((period, RDF.type, DCTERMS.PeriodOfTime))
    g.add((period, DCAT.startDate, _when(dates["period_start"])))
    g.add((period, DCAT.endDate, _when(dates["period_end"])))
    g.add((dataset, DCTERMS.temporal, period))
    frequency = _typed(g, metadata.ACCRUAL["eu"], DCTERMS.Frequency)
    g.add((dataset, DCTERMS.accrualPeriodicity, frequency))
    g.add((dataset, DCTERMS.issued, _when(dates["published"])))
    g.add((dataset, DCTERMS.modified, _when(dates["data_as_of"])))
    if previous:
        g.add((dataset, DCAT.previousVersion, URIRef(f"{base}releases/{previous}/dcat.jsonld#dataset")))

    service = data_service(g, version, dataset, licence, publisher, contact)
    g.add((catalog, DCAT.service, service))

    for item in files:
        url = URIRef(release + item["name"])
        dist = _typed(g, f"{release}dcat.jsonld#{item['name']}", DCAT.Distribution)
        if item["name"] == DATABASE_FILE:
            g.add((dist, DCAT.accessService, service))
        g.add((dataset, DCAT.distribution, dist))
        g.add((dist, DCAT.accessURL, url))
        g.add((dist, DCAT.downloadURL, url))
        _texts(g, dist, DCTERMS.title, {"vi": item["title"], "en": item["title"]})
        if item.get("description"):
            g.add((dist, DCTERMS.description, Literal(item["description"], lang="en")))
        g.add((dist, DCAT.mediaType, _typed(g, IANA + item["mediatype"], DCTERMS.MediaType)))
        g.add((dist, DCTERMS.format, _typed(g, EU + "file-type/" + item["eu_file_type"], DCTERMS.MediaTypeOrExtent)))
        g.add((dist, DCAT.byteSize, Literal(item["bytes"], datatype=XSD.nonNegativeInteger)))
        checksum = BNode()
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((checksum, SPDX.checksumValue, Literal(item["sha256"], datatype=XSD.hexBinary)))
        g.add((dist, SPDX.checksum, checksum))
        g.add((dist, DCTERMS.license, licence))
        g.add((dist, DCTERMS.issued, _when(dates["published"])))
    return g


def data_service(g: Graph, version: str, dataset, licence, publisher, contact) -> URIRef:
    """The query API over this release's database: a dcat:DataService serving the dataset."""
    described = metadata.data_service(version)
    service = _typed(g, f"{metadata.base_url()}releases/{version}/dcat.jsonld#api", DCAT.DataService)
    _texts(g, service, DCTERMS.title, {"vi": "API truy vấn dữ liệu (Datasette)", "en": "Query API (Datasette)"})
    limits = described["limits"]
    _texts(g, service, DCTERMS.description, {
        "vi": f"Lọc theo mọi cột khóa, chọn cột, sắp xếp, phân trang; JSON và CSV. Tối đa {limits['max_page_size']} dòng mỗi trang, "
              f"mỗi truy vấn tối đa {limits['sql_time_limit_ms']} ms.",
        "en": f"Filter by any key column, choose columns, sort, page; JSON and CSV. At most {limits['max_page_size']} rows a page, "
              f"{limits['sql_time_limit_ms']} ms a query.",
    })
    g.add((service, DCAT.endpointURL, URIRef(described["endpointURL"])))
    g.add((service, DCAT.endpointDescription, URIRef(described["documentation"])))
    g.add((service, DCAT.servesDataset, dataset))
    g.add((service, DCTERMS.license, licence))
    g.add((service, DCTERMS.publisher, publisher))
    g.add((service, DCAT.contactPoint, contact))
    return service


def to_jsonld(graph: Graph) -> str:
    return graph.serialize(format="json-ld", indent=2, auto_compact=True)
