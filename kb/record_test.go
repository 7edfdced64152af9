package kb

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestParseCSVReport(t *testing.T) {
	in := "\ufeffquestion,similar_questions,answer,category,tags\n" +
		"宽带怎么续费,宽带续费| 网费怎么交 |宽带续费,在APP续费,宽带 / 缴费,缴费|宽带\n" + // row 2: ok, dedup, trims
		",x,答案,,\n" + // row 3: no question
		"没有答案的问题,,,,\n" + // row 4: no answer
		"\n" + // blank: skipped
		"分类太深,,答案,a/b/c/d/e/f,\n" + // row 6
		"宽带怎么续费,,重复,,\n" + // row 7: duplicate of row 2
		"空层级,,答案,宽带//故障,\n" + // row 8
		"标签太长,,答案,," + strings.Repeat("长", 40) + "\n" + // row 9
		"\"带,逗号的问题\",,\"多行\n答案\",通用,\n" // row 10: quoted
	recs, bad, err := ParseCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("records %+v", recs)
	}
	want := Record{Row: 2, Question: "宽带怎么续费", Similar: []string{"宽带续费", "网费怎么交"}, Answer: "在APP续费", Category: "宽带/缴费", Tags: []string{"缴费", "宽带"}}
	if !reflect.DeepEqual(recs[0], want) {
		t.Errorf("got %+v\nwant %+v", recs[0], want)
	}
	if recs[1].Row != 10 || recs[1].Question != "带,逗号的问题" || recs[1].Answer != "多行\n答案" {
		t.Errorf("quoted row %+v", recs[1])
	}
	wantBad := []RowError{
		{Row: 3, Field: "question", Reason: "is empty"},
		{Row: 4, Field: "answer", Reason: "is empty"},
		{Row: 6, Field: "category", Reason: "deeper than 5 levels"},
		{Row: 7, Field: "question", Reason: "duplicate of row 2"},
		{Row: 8, Field: "category", Reason: "has an empty level"},
	}
	if len(bad) != 6 || !reflect.DeepEqual(bad[:5], wantBad) || bad[5].Row != 9 || bad[5].Field != "tags" {
		t.Errorf("bad rows %+v", bad)
	}
}

func TestParseCSVHeaders(t *testing.T) {
	// Chinese headers in another order.
	recs, bad, err := ParseCSV(strings.NewReader("答案,问题,标签\n先重启,没网了,断网|光猫\n"))
	if err != nil || len(bad) != 0 || len(recs) != 1 || recs[0].Question != "没网了" || recs[0].Answer != "先重启" || len(recs[0].Tags) != 2 {
		t.Fatalf("%+v %+v %v", recs, bad, err)
	}
	// No header: columns in the documented order; row numbers start at 1.
	recs, _, _ = ParseCSV(strings.NewReader("没网了,,先重启,宽带,\n"))
	if len(recs) != 1 || recs[0].Row != 1 || recs[0].Category != "宽带" {
		t.Fatalf("headerless %+v", recs)
	}
	// Broken CSV quoting is a file error, not a row error.
	if _, _, err := ParseCSV(strings.NewReader("question,answer\n\"a,b\n")); err != nil {
		t.Logf("unterminated quote: %v", err)
	}
}

func TestParseCSVGBK(t *testing.T) {
	utf := "question,answer\n宽带怎么续费,在APP续费\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(utf)
	if err != nil {
		t.Fatal(err)
	}
	recs, bad, err := ParseCSV(strings.NewReader(gbk))
	if err != nil || len(bad) != 0 || len(recs) != 1 || recs[0].Question != "宽带怎么续费" {
		t.Fatalf("%+v %+v %v", recs, bad, err)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	recs := []Record{
		{Question: "宽带怎么续费", Similar: []string{"网费怎么交"}, Answer: "<p>在APP续费，或到营业厅</p>", Category: "宽带/缴费", Tags: []string{"缴费"}},
		{Question: "带\"引号\",和逗号", Answer: "多行\n答案"},
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, recs); err != nil {
		t.Fatal(err)
	}
	got, bad, err := ParseCSV(&buf)
	if err != nil || len(bad) != 0 || len(got) != 2 {
		t.Fatalf("%+v %+v %v", got, bad, err)
	}
	for i := range recs {
		recs[i].Row = i + 2
		if recs[i].Similar == nil {
			recs[i].Similar = []string{}
		}
		if recs[i].Tags == nil {
			recs[i].Tags = []string{}
		}
		if got[i].Similar == nil {
			got[i].Similar = []string{}
		}
		if got[i].Tags == nil {
			got[i].Tags = []string{}
		}
		if !reflect.DeepEqual(got[i], recs[i]) {
			t.Errorf("row %d: got %+v want %+v", i, got[i], recs[i])
		}
	}
}

func TestXLSXRoundTrip(t *testing.T) {
	recs := []Record{
		{Question: "电视没信号", Similar: []string{"电视无信号", "没台了"}, Answer: "检查机顶盒", Category: "有线电视/故障", Tags: []string{"无信号"}},
		{Question: "", Answer: "缺问题的行"},
		{Question: "信用卡提额", Answer: "用卡满半年可申请"},
	}
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, recs); err != nil {
		t.Fatal(err)
	}
	got, bad, err := ParseXLSX(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Question != "电视没信号" || len(got[0].Similar) != 2 || got[0].Category != "有线电视/故障" || got[1].Row != 4 {
		t.Errorf("records %+v", got)
	}
	if len(bad) != 1 || bad[0].Row != 3 || bad[0].Field != "question" {
		t.Errorf("bad %+v", bad)
	}
	if _, _, err := ParseXLSX(strings.NewReader("not a workbook")); err == nil {
		t.Error("garbage accepted as xlsx")
	}
}

func TestNormalizeCategory(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{" 宽带 / 故障 ", "宽带/故障", ""},
		{"宽带／故障", "宽带/故障", ""},
		{"", "", ""},
		{"a//b", "", "has an empty level"},
		{"/a", "", "has an empty level"},
	} {
		got, err := NormalizeCategory(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("NormalizeCategory(%q) = %q, %v", tc.in, got, err)
		}
	}
}
