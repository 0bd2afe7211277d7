/* Prints the binary layout of the ledger file as JSON (offsets/sizes from the C structs),
   so that layout.test.ts can compare it with read-ledger.ts's LAYOUT. */
/* LEDGER_SOURCE: the audit library's path, given with -D by layout.test.ts */
#include LEDGER_SOURCE
#include <stdio.h>
#define F(T, f) printf("%s\"%s.%s\": [%zu, %zu]", first ? "" : ",\n", #T, #f, offsetof(T, f), sizeof(((T *)0)->f)), first = 0
int main(void) {
  int first = 1;
  printf("{\n");
  F(ledger_header, magic); F(ledger_header, version); F(ledger_header, header_size); F(ledger_header, pid);
  F(ledger_header, max_depth); F(ledger_header, start_unix_ns); F(ledger_header, file_size);
  F(ledger_header, site_off); F(ledger_header, site_cap); F(ledger_header, site_entry_size); F(ledger_header, site_used);
  F(ledger_header, obj_off); F(ledger_header, obj_cap); F(ledger_header, obj_entry_size); F(ledger_header, obj_used);
  F(ledger_header, str_off); F(ledger_header, str_cap); F(ledger_header, str_used); F(ledger_header, flags);
  F(ledger_header, open_tags_off); F(ledger_header, open_off); F(ledger_header, open_cap); F(ledger_header, open_entry_size);
  F(ledger_header, open_group); F(ledger_header, open_window);
  F(ledger_header, seg_dir_off); F(ledger_header, seg_cap); F(ledger_header, seg_used); F(ledger_header, seg_size);
  F(ledger_header, seg_ctr_cap); F(ledger_header, seg_open_cap); F(ledger_header, seg_ctr_entry_size); F(ledger_header, seg_open_group);
  F(ledger_header, unmatched_release); F(ledger_header, no_site); F(ledger_header, untracked); F(ledger_header, failed_calls);
  F(ledger_header, memo_misses); F(ledger_header, frames_computed); F(ledger_header, chains_truncated); F(ledger_header, chains_tail);
  F(ledger_header, verify_checked); F(ledger_header, verify_mismatch); F(ledger_header, pc_cache_full); F(ledger_header, wrapped_bindings);
  F(ledger_header, foreign_bindings); F(ledger_header, refcount_unknown); F(ledger_header, objects_closed); F(ledger_header, no_segment);
  F(ledger_header, global_live);
  F(ledger_header, name_off); F(ledger_header, name_cap); F(ledger_header, name_entry_size); F(ledger_header, name_used);
  F(ledger_header, name_buf); F(ledger_header, names_unreadable); F(ledger_header, names_dropped);
  F(site_entry, state_hash); F(site_entry, pair); F(site_entry, depth); F(site_entry, flags); F(site_entry, obj); F(site_entry, off);
  F(site_entry, acquired); F(site_entry, released); F(site_entry, released_here); F(site_entry, lost); F(site_entry, untracked); F(site_entry, teardown);
  F(site_entry, name_off); F(site_entry, name_len);
  F(name_entry, state_hash); F(name_entry, str_off); F(name_entry, len);
  F(obj_entry, state); F(obj_entry, flags); F(obj_entry, path_off); F(obj_entry, path_len); F(obj_entry, base); F(obj_entry, lo); F(obj_entry, hi);
  F(obj_entry, build_id_len); F(obj_entry, build_id); F(obj_entry, eh_frame_hdr);
  F(open_entry, h1); F(open_entry, h2); F(open_entry, site); F(open_entry, pair); F(open_entry, flags); F(open_entry, count); F(open_entry, slot); F(open_entry, tid);
  F(seg_ctr, site1); F(seg_ctr, acquired); F(seg_ctr, released); F(seg_ctr, released_here); F(seg_ctr, lost); F(seg_ctr, untracked); F(seg_ctr, teardown);
  F(seg_header, magic); F(seg_header, tid); F(seg_header, ctr_cap); F(seg_header, open_cap); F(seg_header, ctr_off); F(seg_header, tags_off);
  F(seg_header, open_off); F(seg_header, index); F(seg_header, created_unix_ns); F(seg_header, overflow); F(seg_header, hs_off); F(seg_header, hs_cap); F(seg_header, hs_top); F(seg_header, recent_off); F(seg_header, recent_cap);
  F(hs_entry, h); F(hs_entry, site); F(hs_entry, pair); F(hs_entry, flags); F(hs_entry, slot);
  printf(",\n\"sizeof\": {\"ledger_header\": %zu, \"site_entry\": %zu, \"obj_entry\": %zu, \"open_entry\": %zu, \"seg_ctr\": %zu, \"seg_header\": %zu, \"hs_entry\": %zu, \"name_entry\": %zu}\n}\n",
         sizeof(ledger_header), sizeof(site_entry), sizeof(obj_entry), sizeof(open_entry), sizeof(seg_ctr), sizeof(seg_header), sizeof(hs_entry), sizeof(name_entry));
  return 0;
}
