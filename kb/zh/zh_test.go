package zh

import (
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"寬帶連不上網", "宽带连不上网"},
		{"ＷｉＦｉ密碼", "wifi密码"},
		{"　你好，請問：帳戶怎麼辦？！", "你好 请问 账户怎么办"},
		{"ATM吞卡了!!!", "atm吞卡了"},
		{"5G套餐  多少钱", "5g套餐 多少钱"},
		{"１２３４５", "12345"},
		{"网速慢慢慢啊啊啊", "网速慢啊"},
		{"谢谢看看666", "谢谢看看666"},
		{"跳出来一个6 9 1 的错", "跳出来一个691 的错"},
		{"12 3 4 5", "12 345"},
		{"跳出来一个 6 9 1 的错", "跳出来一个 691 的错"},
		{"提示 6，7，8", "提示 678"},
		{"住1 2楼", "住1 2楼"},
		{"", ""},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStripHTML(t *testing.T) {
	if got := StripHTML(`<p>先<b>重启</b>光猫&amp;路由器</p>`); got != " 先 重启 光猫&路由器 " {
		t.Errorf("got %q", got)
	}
}

func TestFillersRemoved(t *testing.T) {
	a, err := NewAnalyzer(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"你好，请问宽带怎么办理啊", "宽带怎么办理"}, // 办理 survives although 怎么办 is a filler
		{"我想问一下信用卡丢了怎么办", "信用卡丢了"},
		{"亲，亲情号怎么加呢？谢谢", "亲情号怎么加"},
		{"麻烦帮我查一下话费吧", "话费"},
	} {
		if got := a.Query(tc.in).Clean; got != tc.want {
			t.Errorf("Clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func words(a Analysis) []string {
	var out []string
	for _, t := range a.Channels[Words] {
		out = append(out, t.Key)
	}
	return out
}

func TestSynonymConcepts(t *testing.T) {
	a, _ := NewAnalyzer(nil)
	for _, tc := range []struct{ a, b string }{
		{"交费", "缴费"},
		{"没信号", "无信号"},
		{"电视没台了", "电视显示无信号"},
		{"网断了", "无法上网"},
		{"卡被机器吞了", "吞卡"},
		{"登陆不了", "无法登录"},
		{"帳號", "账户"}, // traditional + synonym
		{"家里没网了", "网络连不上"},
		{"被扣钱了", "扣费"},
		{"销户", "退网"},
		{"没自来水", "停水了"},
		{"老跳闸", "空开跳了"},
		{"查物流", "快递单号"},
		{"退我钱", "退款"},
		{"丢了卡", "挂失"},
		{"办个宽带", "新装宽带"},
	} {
		wa, wb := words(a.Document(tc.a)), words(a.Document(tc.b))
		shared := false
		for _, w := range wa {
			if len(w) > 0 && w[0] == '=' && slices.Contains(wb, w) {
				shared = true
			}
		}
		if !shared {
			t.Errorf("%q %v and %q %v share no concept", tc.a, wa, tc.b, wb)
		}
	}
	if !Base().Equivalent("交费", "缴费") || Base().Equivalent("交费", "退款") {
		t.Error("Equivalent")
	}
}

func TestAdminSynonyms(t *testing.T) {
	base := Base()
	lex := base.WithSynonyms([][]string{{"星河卡", "银河会员卡"}, {"缴费", "上供"}})
	if !lex.Equivalent("星河卡", "银河会员卡") || !lex.Equivalent("上供", "交费") {
		t.Fatal("admin groups not merged")
	}
	if base.Equivalent("星河卡", "银河会员卡") {
		t.Fatal("base lexicon modified")
	}
	if lex.Version() == base.Version() || lex.Version() != base.WithSynonyms([][]string{{"星河卡", "银河会员卡"}, {"缴费", "上供"}}).Version() {
		t.Fatal("version must change with, and only with, the synonyms")
	}
	a, _ := NewAnalyzer(lex)
	if !slices.Contains(words(a.Query("银河会员卡怎么办")), "=星河卡") {
		t.Errorf("admin phrase not found in query: %v", words(a.Query("银河会员卡怎么办")))
	}
}

func TestHomophoneTypos(t *testing.T) {
	a, _ := NewAnalyzer(nil)
	for _, tc := range []struct{ typo, concept string }{
		{"燃气费怎么冲值", "=充值"},
		{"信用卡愈期了", "=逾期"},
		{"银行卡被冻节", "=冻结"},
		{"退宽多久到帐", "=退款"},
		{"账号怎么实明认证", "=实名认证"},
	} {
		if !slices.Contains(words(a.Query(tc.typo)), tc.concept) {
			t.Errorf("%q: %v lacks %s", tc.typo, words(a.Query(tc.typo)), tc.concept)
		}
	}
	// Chance homophones of two characters sharing none are not taken.
	if slices.Contains(words(a.Query("世纪")), "=实际") {
		t.Error("unrelated homophone matched")
	}
	// Nor windows inside a word written correctly: 视机 of 电视机 is not
	// a typo of 死机.
	if w := words(a.Query("电视机没声音")); slices.Contains(w, "=死机") {
		t.Errorf("电视机没声音: %v has 死机", w)
	}
}

func TestPartialAndPinyin(t *testing.T) {
	a, _ := NewAnalyzer(nil)
	// A half-typed word still yields the bigram of what is there.
	q := a.Query("宽带缴")
	found := false
	for _, t := range q.Channels[Bigrams] {
		found = found || t.Key == "宽带"
	}
	if !found {
		t.Error("bigram 宽带 missing")
	}
	if p, _ := PinyinKey("充值"); p != "con zi" {
		t.Errorf("fuzzy pinyin of 充值 = %q", p)
	}
	k1, _ := PinyinKey("冲值")
	k2, _ := PinyinKey("充值")
	if k1 != k2 {
		t.Errorf("homophones differ: %q %q", k1, k2)
	}
}

func TestParticleSplitPhrase(t *testing.T) {
	a, _ := NewAnalyzer(nil)
	if !slices.Contains(words(a.Query("报了修一直没人来")), "=报修") {
		t.Errorf("报了修: %v", words(a.Query("报了修一直没人来")))
	}
	// 的 inside a phrase: 银行卡的密码 is 银行卡密码.
	if !slices.Contains(words(a.Query("银行卡的密码忘了")), "=取款密码") {
		t.Errorf("银行卡的密码: %v", words(a.Query("银行卡的密码忘了")))
	}
}

func TestPrior(t *testing.T) {
	if !(Prior("家里") < Prior("宽带")) || Prior("光猫") != 1 || Prior("的") > 0.2 {
		t.Errorf("prior 家里=%v 宽带=%v 光猫=%v 的=%v", Prior("家里"), Prior("宽带"), Prior("光猫"), Prior("的"))
	}
}

func TestAbbreviation(t *testing.T) {
	an, err := NewAnalyzer(nil)
	if err != nil {
		t.Fatal(err)
	}
	has := func(a Analysis, id string) bool {
		for _, tm := range a.Channels[Words] {
			if tm.Key == id {
				return true
			}
		}
		return false
	}
	id := Base().concepts["信用卡"][0]
	if q := an.Query("xyk还款"); !has(q, id) {
		t.Errorf("xyk should expand to %s: %+v", id, q.Channels[Words])
	}
	// An abbreviation the lexicon does not list itself (it lists xyk)
	// expands in queries only.
	tested := false
	for abbr, term := range map[string]string{"jdh": "机顶盒", "gjmy": "国际漫游", "yjfk": "意见反馈"} {
		if len(Base().concepts[abbr]) > 0 || len(Base().concepts[term]) == 0 {
			continue
		}
		tested = true
		cid := Base().concepts[term][0]
		if q := an.Query(abbr + "坏了"); !has(q, cid) {
			t.Errorf("%s should expand to %s: %+v", abbr, cid, q.Channels[Words])
		}
		if d := an.Document(abbr + "坏了"); has(d, cid) {
			t.Errorf("documents are not expanded: %+v", d.Channels[Words])
		}
	}
	if !tested {
		t.Error("every sample abbreviation is a lexicon term; add one that is not")
	}
	if q := an.Query("app闪退"); has(q, id) {
		t.Errorf("app is a lexicon term, not an abbreviation")
	}
	// Whole pinyin typed as one word, with the fuzzy folds (zh/z, -ng/-n).
	for tok, term := range map[string]string{"tousu": "投诉", "yiji": "移机", "kuandai": "宽带", "zhuanrengong": "转人工"} {
		cid := Base().concepts[term][0]
		if q := an.Query("我要" + tok); !has(q, cid) {
			t.Errorf("%s should expand to %s: %+v", tok, cid, q.Channels[Words])
		}
	}
}

func TestIntentOf(t *testing.T) {
	for _, c := range []struct {
		text string
		want Intent
	}{
		{"宽带怎么办理", 0},
		{"宽带资费是多少", IntentCost},
		{"装网要不要另外收钱", IntentCost},
		{"宽带报装后多久上门安装", IntentTime},
		{"网申请好了 大概啥时候能装上", IntentTime},
		{"宽带怎么取消", IntentCancel},
		{"网不用了 怎么退掉", IntentCancel},
		{"信用卡还款日能不能改", IntentAllowed | IntentChange},
		{"转账失败是什么原因", IntentFailure},
		{"银行卡丢了怎么挂失", IntentLost},
		{"附近的营业厅在哪", IntentPlace},
		{"安装进度怎么查询", IntentCheck | IntentProgress},
		{"怎么变更手机套餐", IntentChange},
		{"充了话费为什么还没到账", IntentFailure | IntentTime | IntentProgress},
		{"客服免费电话是多少", 0}, // 免费电话 is a thing, not a price question
		{"上个月申请的信用卡 现在啥情况", IntentProgress},
		{"欠费停机后怎么恢复", IntentRestore},
		{"最低还款是什么意思", IntentMeaning},
		{"外地的卡在这里取钱行不行", IntentAllowed}, // 不行 inside 行不行 is no failure
		{"我的快递到哪了", IntentProgress},     // 到哪 here is no place question
		{"自动续费关掉了还扣钱", IntentCancel},    // 掉了 of 关掉了 is not lost
		{"储蓄卡找不到了", IntentLost},
		{"外地的卡能办吗", IntentAllowed},
	} {
		if got := IntentOf(Normalize(c.text)); got != c.want {
			t.Errorf("IntentOf(%q) = %b, want %b", c.text, got, c.want)
		}
	}
}
