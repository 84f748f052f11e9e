/* xml.h: a minimal, non-validating XML reader, enough for OpenCV's
 * FileStorage XML files (cascades): elements, attributes, character data,
 * comments, processing instructions, CDATA sections, the five predefined
 * entities and numeric character references. No DTDs, no namespaces.
 *
 * The whole document becomes a tree of nodes in one allocation arena; names
 * and text point into a private copy of the input. Errors name the file and
 * line ("<name>:<line>: ..."). No recursion: nesting depth is limited to
 * FERC_XML_MAX_DEPTH, so hostile input cannot overflow the stack. */
#ifndef FERC_XML_H
#define FERC_XML_H
#include <stddef.h>
#include "err.h"

#define FERC_XML_MAX_DEPTH 256

typedef struct ferc_xml_node ferc_xml_node;
struct ferc_xml_node {
    const char *name;           /* element name */
    const char *text;           /* character data directly inside the element, entities
                                 * decoded, leading/trailing white space kept; when the
                                 * element has several text runs (mixed content) only the
                                 * first non-blank one; "" when none */
    const char **attr;          /* n_attr (name, value) pairs: attr[2i], attr[2i+1] */
    int n_attr;
    int line;                   /* 1-based line of the start tag */
    int n_child;                /* child elements */
    ferc_xml_node *first_child; /* in document order, linked through next */
    ferc_xml_node *next;
    ferc_xml_node *parent;
};

typedef struct ferc_xml_doc ferc_xml_doc;

/* Parses n bytes (need not be NUL-terminated); name is used in error messages
 * and copied. Returns NULL with e filled on malformed input. */
ferc_xml_doc *ferc_xml_parse(const char *buf, size_t n, const char *name, ferc_err *e);
/* Reads and parses a file ("<path>: cannot open: <reason>" when missing). */
ferc_xml_doc *ferc_xml_load(const char *path, ferc_err *e);
void ferc_xml_free(ferc_xml_doc *d);
const ferc_xml_node *ferc_xml_root(const ferc_xml_doc *d);
const char *ferc_xml_name(const ferc_xml_doc *d);   /* the name given at parse time */

/* First child element called name, or NULL. */
const ferc_xml_node *ferc_xml_child(const ferc_xml_node *n, const char *name);
/* Value of attribute name, or NULL. */
const char *ferc_xml_attr(const ferc_xml_node *n, const char *name);

#endif
