package plan

import "testing"

// TestSharesPartitionExactly: for many totals and instance counts, the shares of 1..N add up to the
// total, each differs from total/N by less than 1, and arrivals are owned by exactly one instance.
func TestSharesPartitionExactly(t *testing.T) {
	for n := 1; n <= 37; n++ {
		for v := 0; v <= 2100; v += 1 + v/7 {
			sum := 0
			for k := 1; k <= n; k++ {
				share := Segment{K: k, N: n}.Share(v)
				if f := float64(v) / float64(n); float64(share) < f-1 || float64(share) > f+1 || share < 0 {
					t.Fatalf("V=%d N=%d K=%d: share %d", v, n, k, share)
				}
				sum += share
			}
			if sum != v {
				t.Fatalf("V=%d N=%d: shares add up to %d", v, n, sum)
			}
		}
		for i := 0; i < 1000; i++ {
			owners := 0
			for k := 1; k <= n; k++ {
				if (Segment{K: k, N: n}).Owns(i) {
					owners++
				}
			}
			if owners != 1 {
				t.Fatalf("N=%d: arrival %d owned by %d instances", n, i, owners)
			}
		}
	}
	if (Segment{}).Share(7) != 7 || !(Segment{}).Owns(3) || (Segment{}).String() != "1/1" {
		t.Fatal("the zero segment is the whole run")
	}
}

func TestParseSegment(t *testing.T) {
	if s, err := ParseSegment("2/3"); err != nil || s != (Segment{K: 2, N: 3}) || s.String() != "2/3" {
		t.Fatalf("%v %v", s, err)
	}
	for _, bad := range []string{"", "3", "0/3", "4/3", "1/0", "a/b", "-1/2"} {
		if _, err := ParseSegment(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	ps := Segment{K: 3, N: 4}.Apply([]Phase{{VUs: 10}, {Rate: 100}, {VUs: 2}})
	if ps[0].VUs != 2 || ps[1].Rate != 100 || ps[2].VUs != 0 {
		t.Fatalf("%+v", ps)
	}
}
