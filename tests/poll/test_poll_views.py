#!/usr/bin/env python3
"""test_poll_views.py - `ddbhost poll` against moto_server with each stream view type
(NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY): an INSERT, a MODIFY and a REMOVE reach
the echo plugin with exactly the images that view type carries, the right eventName and keys,
a 38-digit number's exact text and binary's bytes. Skips, saying why, where moto_server is not
installed.

usage: test_poll_views.py DDBHOST ECHO_SO"""
import json
import sys
import unittest

import pollmoto
from pollmoto import Poll, call, create_table, stream_seqs

BIG = "12345678901234567890.123456789012345678"   # 38 digits
TINY = "-0.00000000000000000000000000000000000012345678901234567890123456789012345678"
IMAGES = {"NEW_IMAGE": ("NewImage",), "OLD_IMAGE": ("OldImage",),
          "NEW_AND_OLD_IMAGES": ("NewImage", "OldImage"), "KEYS_ONLY": ()}


def version(n, blob):
    return {"pk": {"S": "k"}, "n": {"N": n}, "b": {"B": blob}, "s": {"S": "Zürich"}}


class ViewTypeTest(unittest.TestCase):
    def check(self, view):
        table = "View_" + view
        create_table(table, view)
        v1, v2 = version(BIG, "3q2+7w=="), version(TINY, "AAEC/w==")
        call("DynamoDB_20120810.PutItem", {"TableName": table, "Item": v1})
        call("DynamoDB_20120810.PutItem", {"TableName": table, "Item": v2})
        call("DynamoDB_20120810.DeleteItem", {"TableName": table, "Key": {"pk": {"S": "k"}}})
        seqs = stream_seqs(table)
        p = Poll(self, table, plugin=pollmoto.PROBE)
        p.start()
        p.wait_for(lambda: len(p.raw_lines()) >= 3)
        self.assertEqual(p.stop(), 0)
        got = [json.loads(l) for l in p.raw_lines()]
        for g in got:
            del g["eventID"]
        # What each event carries in a stream of every view type, and what view keeps of it.
        full = [("INSERT", {"NewImage": v1}), ("MODIFY", {"NewImage": v2, "OldImage": v1}),
                ("REMOVE", {"OldImage": v2})]
        want = []
        for seq, (name, images) in zip(seqs, full):
            rec = {"eventName": name, "table": table, "SequenceNumber": seq,
                   "Keys": {"pk": {"S": "k"}}}
            rec.update({k: v for k, v in images.items() if k in IMAGES[view]})
            want.append(rec)
        self.assertEqual(got, want)

    def test_new_image(self):
        self.check("NEW_IMAGE")

    def test_old_image(self):
        self.check("OLD_IMAGE")

    def test_new_and_old_images(self):
        self.check("NEW_AND_OLD_IMAGES")

    def test_keys_only(self):
        self.check("KEYS_ONLY")


if __name__ == "__main__":
    sys.exit(pollmoto.main(sys.argv[1], sys.argv[2]))
