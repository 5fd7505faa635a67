//! One ring as GraphML (yEd, Cytoscape, NetworkX, Gephi).

use quick_xml::escape::escape;
use ringscope_rings::RingGraph;
use std::fmt::Write as _;

/// The ring `id`'s graph as a GraphML document. Nodes carry `kind`, `member` and `score`;
/// edges carry `relation`, `time` (unix seconds), `time_iso` and `weight`.
pub fn to_graphml(id: &str, graph: &RingGraph) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n",
    );
    for (key, domain, ty) in [
        ("label", "node", "string"),
        ("kind", "node", "string"),
        ("member", "node", "boolean"),
        ("score", "node", "double"),
        ("start", "node", "long"),
        ("relation", "edge", "string"),
        ("time", "edge", "long"),
        ("time_iso", "edge", "string"),
        ("weight", "edge", "double"),
    ] {
        let _ = writeln!(
            s,
            "  <key id=\"{key}\" for=\"{domain}\" attr.name=\"{key}\" attr.type=\"{ty}\"/>"
        );
    }
    let _ = writeln!(
        s,
        "  <graph id=\"{}\" edgedefault=\"directed\">",
        escape(id)
    );
    for (i, n) in graph.nodes.iter().enumerate() {
        let _ = write!(
            s,
            "    <node id=\"n{i}\"><data key=\"label\">{}</data><data key=\"kind\">{}</data><data key=\"member\">{}</data>",
            escape(&n.id),
            n.kind,
            n.member
        );
        if let Some(score) = n.score.filter(|v| v.is_finite()) {
            let _ = write!(s, "<data key=\"score\">{score}</data>");
        }
        if let Some(start) = n.start {
            let _ = write!(s, "<data key=\"start\">{start}</data>");
        }
        s.push_str("</node>\n");
    }
    for (i, e) in graph.edges.iter().enumerate() {
        let _ = write!(
            s,
            "    <edge id=\"e{i}\" source=\"n{}\" target=\"n{}\"><data key=\"relation\">{}</data>",
            e.source, e.target, e.relation
        );
        if let Some(t) = e.time {
            let _ = write!(
                s,
                "<data key=\"time\">{t}</data><data key=\"time_iso\">{}</data>",
                crate::iso_time(t)
            );
        }
        if let Some(w) = e.weight {
            let _ = write!(s, "<data key=\"weight\">{w}</data>");
        }
        s.push_str("</edge>\n");
    }
    s.push_str("  </graph>\n</graphml>\n");
    s
}

/// The ring `id`'s graph as dynamic GEXF 1.3, so Gephi's timeline plays the ring: each edge
/// appears at its action's time and each node at its first edge.
pub fn to_gexf(id: &str, graph: &RingGraph) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <gexf xmlns=\"http://gexf.net/1.3\" version=\"1.3\">\n\
         \x20 <meta><creator>ringscope</creator><description>ring {}</description></meta>\n\
         \x20 <graph mode=\"dynamic\" defaultedgetype=\"directed\" timeformat=\"dateTime\" timerepresentation=\"interval\">\n\
         \x20   <attributes class=\"node\" mode=\"static\">\n\
         \x20     <attribute id=\"kind\" title=\"kind\" type=\"string\"/>\n\
         \x20     <attribute id=\"member\" title=\"member\" type=\"boolean\"/>\n\
         \x20     <attribute id=\"score\" title=\"score\" type=\"double\"/>\n\
         \x20   </attributes>\n\
         \x20   <attributes class=\"edge\" mode=\"static\">\n\
         \x20     <attribute id=\"relation\" title=\"relation\" type=\"string\"/>\n\
         \x20     <attribute id=\"weight\" title=\"weight\" type=\"double\"/>\n\
         \x20   </attributes>\n\
         \x20   <nodes>\n",
        escape(id)
    );
    let start = |t: Option<i64>| {
        t.map_or_else(String::new, |t| {
            format!(" start=\"{}\"", crate::iso_time(t))
        })
    };
    for (i, n) in graph.nodes.iter().enumerate() {
        let _ = write!(
            s,
            "      <node id=\"n{i}\" label=\"{}\"{}><attvalues><attvalue for=\"kind\" value=\"{}\"/><attvalue for=\"member\" value=\"{}\"/>",
            escape(&n.id),
            start(n.start),
            n.kind,
            n.member
        );
        if let Some(score) = n.score.filter(|v| v.is_finite()) {
            let _ = write!(s, "<attvalue for=\"score\" value=\"{score}\"/>");
        }
        s.push_str("</attvalues></node>\n");
    }
    s.push_str("    </nodes>\n    <edges>\n");
    for (i, e) in graph.edges.iter().enumerate() {
        let _ = write!(
            s,
            "      <edge id=\"e{i}\" source=\"n{}\" target=\"n{}\" label=\"{}\"{}><attvalues><attvalue for=\"relation\" value=\"{}\"/>",
            e.source,
            e.target,
            e.relation,
            start(e.time),
            e.relation
        );
        if let Some(w) = e.weight {
            let _ = write!(s, "<attvalue for=\"weight\" value=\"{w}\"/>");
        }
        s.push_str("</attvalues></edge>\n");
    }
    s.push_str("    </edges>\n  </graph>\n</gexf>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::Reader;
    use quick_xml::events::Event;
    use ringscope_rings::{RingEdge, RingNode};

    fn ring() -> RingGraph {
        let node = |kind: &str, id: &str, member, start| RingNode {
            kind: kind.into(),
            id: id.into(),
            member,
            score: member.then_some(0.9),
            start,
        };
        RingGraph {
            nodes: vec![
                node("account", "a<1>&\"x\"", true, Some(100)),
                node("account", "a2", true, Some(200)),
                node("device", "d1", false, Some(100)),
            ],
            edges: vec![
                RingEdge {
                    source: 0,
                    target: 2,
                    relation: "used_device".into(),
                    time: Some(100),
                    weight: Some(3.0),
                },
                RingEdge {
                    source: 1,
                    target: 2,
                    relation: "used_device".into(),
                    time: Some(200),
                    weight: None,
                },
            ],
        }
    }

    /// Parses `xml` and returns (element name, its attributes) for every start/empty element.
    fn elements(xml: &str) -> Vec<(String, Vec<(String, String)>)> {
        let mut reader = Reader::from_str(xml);
        let mut out = Vec::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(e) | Event::Empty(e) => {
                    let attrs = e
                        .attributes()
                        .map(|a| {
                            let a = a.unwrap();
                            (
                                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                                a.unescape_value().unwrap().into_owned(),
                            )
                        })
                        .collect();
                    out.push((
                        String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
                        attrs,
                    ));
                }
                Event::Eof => break,
                _ => {}
            }
        }
        out
    }

    #[test]
    fn gexf_is_well_formed_with_times_and_escaped_ids() {
        let xml = to_gexf("R-1", &ring());
        let els = elements(&xml);
        let nodes: Vec<_> = els.iter().filter(|(n, _)| n == "node").collect();
        let edges: Vec<_> = els.iter().filter(|(n, _)| n == "edge").collect();
        assert_eq!((nodes.len(), edges.len()), (3, 2));
        let attr = |el: &(String, Vec<(String, String)>), k: &str| {
            el.1.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(attr(nodes[0], "label").as_deref(), Some("a<1>&\"x\""));
        assert_eq!(
            attr(edges[1], "start").as_deref(),
            Some("1970-01-01T00:03:20")
        );
        let graph = els.iter().find(|(n, _)| n == "graph").unwrap();
        assert_eq!(attr(graph, "mode").as_deref(), Some("dynamic"));
    }

    #[test]
    fn graphml_is_well_formed_and_edges_name_declared_nodes() {
        let xml = to_graphml("R-1", &ring());
        let els = elements(&xml);
        let ids: Vec<String> = els
            .iter()
            .filter(|(n, _)| n == "node")
            .map(|(_, a)| a.iter().find(|(k, _)| k == "id").unwrap().1.clone())
            .collect();
        let edges: Vec<_> = els.iter().filter(|(n, _)| n == "edge").collect();
        assert_eq!((ids.len(), edges.len()), (3, 2));
        for (_, attrs) in edges {
            for end in ["source", "target"] {
                let v = &attrs.iter().find(|(k, _)| k == end).unwrap().1;
                assert!(ids.contains(v), "{end} {v} is a declared node");
            }
        }
        assert!(xml.contains("a&lt;1&gt;&amp;"), "IDs are escaped");
    }
}
