/* simdjson_walk.cpp - benchmark peer: the parser-speed ceiling. Each rep iterates the event
 * with simdjson's On-Demand API (one reused parser, the bytes padded once) and walks Keys,
 * NewImage and OldImage of every record with walk.c's coverage and checksum: strings
 * unescaped, B base64-decoded, M, L and sets recursed. Usage: simdjson_walk EVENT_FILE REPS */
#include "peer.h"

#include <simdjson.h>

#include <string_view>
#include <vector>

using namespace simdjson;

namespace {

const char *const sw_name = "simdjson_walk";

struct sw_walk {
    peer_b64 b64;
    std::vector<unsigned char> scratch; // decoded B bytes
    long record = -1;                   // for error messages
};

void sw_value(sw_walk &w, peer_sum &t, ondemand::value av);

void sw_string(peer_sum &t, ondemand::value v)
{
    std::string_view s = v.get_string();
    peer_bytes(&t, s.data(), s.size());
}

void sw_binary(sw_walk &w, peer_sum &t, ondemand::value v)
{
    std::string_view s = v.get_string();
    size_t n;
    if (w.scratch.size() < s.size() / 4 * 3) w.scratch.resize(s.size() / 4 * 3 * 2);
    if (!peer_base64(&w.b64, s.data(), s.size(), w.scratch.data(), &n))
        throw std::runtime_error("a B value is not base64");
    peer_bytes(&t, w.scratch.data(), n);
}

/* An M value or an image: every member's name, then its AttributeValue. */
void sw_members(sw_walk &w, peer_sum &t, ondemand::object m)
{
    for (ondemand::field f : m) {
        std::string_view name = f.unescaped_key();
        peer_bytes(&t, name.data(), name.size());
        sw_value(w, t, f.value());
    }
}

/* An AttributeValue: an object whose one member is the type tag. Tags are compared as raw
 * key text, as simdjson's own field lookup does. */
void sw_value(sw_walk &w, peer_sum &t, ondemand::value av)
{
    t.values++;
    for (ondemand::field f : av.get_object()) {
        ondemand::raw_json_string tag = f.key();
        ondemand::value v = f.value();
        if (tag == "S" || tag == "N") {
            sw_string(t, v);
        } else if (tag == "B") {
            sw_binary(w, t, v);
        } else if (tag == "BOOL") {
            t.sum += bool(v.get_bool());
        } else if (tag == "NULL") {
            // nothing to read, as in walk.c
        } else if (tag == "M") {
            sw_members(w, t, v.get_object());
        } else if (tag == "L") {
            for (ondemand::value e : v.get_array()) sw_value(w, t, e);
        } else if (tag == "SS" || tag == "NS") {
            for (ondemand::value e : v.get_array()) {
                sw_string(t, e);
                t.values++;
            }
        } else if (tag == "BS") {
            for (ondemand::value e : v.get_array()) {
                sw_binary(w, t, e);
                t.values++;
            }
        } else {
            throw std::runtime_error("an AttributeValue has an unknown type tag");
        }
    }
}

/* The dynamodb object's fields come in any order and are read once, in document order;
 * each part is summed on its own and appended in walk.c's order: SequenceNumber, Keys,
 * NewImage, OldImage. */
void sw_record(sw_walk &w, peer_sum &t, ondemand::object dynamodb)
{
    enum { SEQ, KEYS, NEW, OLD, PARTS };
    peer_sum part[PARTS] = {};
    for (ondemand::field f : dynamodb) {
        ondemand::raw_json_string key = f.key();
        int i = key == "SequenceNumber" ? SEQ
                : key == "Keys"         ? KEYS
                : key == "NewImage"     ? NEW
                : key == "OldImage"     ? OLD
                                        : PARTS;
        if (i == SEQ) {
            sw_string(part[SEQ], f.value());
        } else if (i != PARTS) {
            part[i].values++;
            sw_members(w, part[i], f.value().get_object());
        }
    }
    t.records++;
    for (const peer_sum &p : part) peer_append(&t, &p);
}

/* Returns false when the event has no Records array. w.record tells errors where they
 * happened: the index of the record being walked, or -1 outside Records. */
bool sw_event(sw_walk &w, peer_sum &t, ondemand::document &doc)
{
    bool found = false;
    for (ondemand::field top : doc.get_object()) {
        if (top.key() != "Records") continue;
        found = true;
        w.record = 0;
        for (ondemand::object rec : top.value().get_array()) {
            bool dynamodb = false;
            for (ondemand::field f : rec) {
                if (f.key() != "dynamodb") continue;
                sw_record(w, t, f.value().get_object());
                dynamodb = true;
            }
            if (!dynamodb) throw std::runtime_error("no dynamodb object");
            w.record++;
        }
        w.record = -1;
    }
    return found;
}

/* "record 3, byte 1234: ...", as much of that as is known. */
void sw_fail(const char *path, const sw_walk &w, ondemand::document *doc,
             const padded_string &json, const char *what)
{
    const char *at = nullptr;
    fprintf(stderr, "%s: error: %s: ", sw_name, path);
    if (w.record >= 0) fprintf(stderr, "record %ld, ", w.record);
    if (doc && doc->current_location().get(at) == SUCCESS)
        fprintf(stderr, "byte %zu: ", size_t(at - json.data()));
    fprintf(stderr, "%s\n", what);
}

} // namespace

int main(int argc, char **argv)
{
    long reps = peer_args(sw_name, argc, argv);
    size_t len;
    char *bytes = peer_read(sw_name, argv[1], &len);
    padded_string json(bytes, len); // ondemand reads it and never writes it
    free(bytes);
    std::vector<double> ms((size_t)reps);
    ondemand::parser parser;
    ondemand::document doc;
    bool iterating = false; // doc holds this rep's iteration (for error locations)
    sw_walk w;
    peer_sum t = {};
    peer_base64_init(&w.b64);
    try {
        for (long r = 0; r < reps; r++) {
            double t0 = peer_now_ms();
            iterating = false;
            doc = parser.iterate(json);
            iterating = true;
            t = peer_sum{};
            if (!sw_event(w, t, doc)) {
                sw_fail(argv[1], w, &doc, json, "the event has no Records array");
                return 1;
            }
            ms[(size_t)r] = peer_now_ms() - t0;
        }
    } catch (const std::exception &e) {
        sw_fail(argv[1], w, iterating ? &doc : nullptr, json, e.what());
        return 1;
    }
    peer_report(sw_name, ms.data(), reps, &t);
    return 0;
}
