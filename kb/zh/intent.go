package zh

import "strings"

// Intent is a set of question intents: what a question asks about its topic
// (the price, how long, why it failed, how to cancel ...), as opposed to the
// topic itself (宽带, 信用卡). FAQ sets hold groups of sibling articles on one
// topic that differ only in intent (宽带怎么办理, 宽带资费是多少, 宽带报装后多久
// 上门, 宽带怎么取消), and the words that carry intent are short and common,
// so term weighting alone undervalues them. The search engine compares the
// intents of a query with those of the candidates' questions.
type Intent uint16

// The intents. "How do I ..." is not one: nearly every question asks it.
const (
	IntentCost    Intent = 1 << iota // 多少钱, 收费, 资费
	IntentTime                       // 多久, 几天, 什么时候
	IntentFailure                    // 为什么, 失败, 无法, 提示错误
	IntentCancel                     // 取消, 退订, 注销, 不要了
	IntentChange                     // 修改, 变更, 更换
	IntentCheck                      // 查询, 进度, 记录, 明细
	IntentPlace                      // 在哪, 网点, 营业厅
	IntentAllowed                    // 可以吗, 能不能, 条件
	IntentLost                       // 丢了, 忘记, 被盗
)

// intentMarkers lists, per intent, phrases that signal it in normalised
// (simplified, lower-case) text, including the colloquial and pinyin-typo
// forms customers type. A marker that is part of a longer word with another
// meaning is listed in intentExceptions.
var intentMarkers = map[Intent][]string{
	IntentCost: {"多少钱", "多钱", "几块钱", "几块", "几毛", "收费", "收多少", "费用", "资费", "价格", "价钱", "报价", "贵不贵", "贵吗", "太贵", "便宜",
		"免费", "要钱", "花钱", "手续费", "月租", "年费", "怎么收", "怎么算钱", "怎么计费", "计费", "收钱", "要交多少", "交多少", "付多少", "多少费",
		"多少费用", "几个钱", "要花", "花多少", "收不收", "要不要钱", "另外收", "额外收", "给钱", "付钱吗", "扣多少", "费率", "利息多少", "怎么收费", "什么价", "啥价", "价位", "划算", "违约金", "滞纳金", "罚金", "押金"},
	IntentTime: {"多久", "多长时间", "多少时间", "几天", "多少天", "几个小时", "几小时", "几个月", "什么时候", "啥时候", "啥时", "何时", "时效", "几点",
		"要等", "等多久", "等了", "还没到", "还没来", "一直没", "迟迟", "多快", "时间",
		"多长", "哪天", "几月", "几时", "啥时间", "什么时间", "多少个工作日", "工作日", "马上", "立即", "立刻", "当天", "隔天", "次日", "实时", "还没好", "怎么还没", "还要等", "等几天", "拖了", "生效"},
	IntentFailure: {"为什么", "为啥", "咋回事", "怎么回事", "什么原因", "啥原因", "原因", "失败", "不成功", "没成功", "无法", "不能用", "用不了", "不了",
		"没反应", "报错", "错误", "提示", "异常", "故障", "坏了", "不好使", "不行", "没用", "不上", "不进", "打不开", "登不上", "连不上", "收不到", "没收到",
		"不显示", "没信号", "卡顿", "很卡", "太卡", "太慢", "很慢", "变慢", "断网", "掉线", "不通", "被拒", "拒绝", "驳回", "没到账", "不到账",
		"不灵", "不好用", "出错", "错了", "失效", "无效", "不对", "不正常", "不出", "没到", "扣了钱", "扣钱了", "怎么办啊", "搞不定", "弄不了", "办不了", "进不去", "上不了", "打不通", "不起作用", "闪退"},
	IntentCancel: {"取消", "退订", "注销", "销户", "不要了", "不用了", "不想用", "不想要", "退掉", "关闭", "关掉", "解约", "拆机", "停用", "解绑", "撤销",
		"撤回", "终止", "退出", "停掉", "销号", "不续",
		"不办了", "不想办", "不订", "停了吧", "去掉", "删除", "删掉", "解除", "作废", "不需要了"},
	IntentChange: {"修改", "更改", "变更", "更换", "换成", "换个", "换一个", "改成", "改一下", "改下", "调整", "换绑", "改绑", "转成", "升级", "降级",
		"改套餐", "换套餐", "过户", "移机", "迁移", "改名", "改地址",
		"改一改", "换掉", "换到", "转到", "更新", "改为", "转为", "变成", "调高", "调低", "提高", "降低", "提升", "上调", "下调"},
	IntentCheck: {"查询", "查看", "查一下", "查下", "怎么查", "在哪查", "哪里查", "看一下", "怎么看", "在哪看", "进度", "记录", "明细", "清单",
		"详单", "还剩", "剩多少", "剩余",
		"啥情况", "什么情况", "到哪了", "到哪一步", "怎么样了", "审核结果", "有结果", "批了没", "批下来", "下来了吗", "查不到", "看不到", "查询方式", "怎么知道", "有多少", "还有多少"},
	IntentPlace: {"在哪", "哪里", "哪儿", "哪个网点", "网点", "营业厅", "地址", "地点", "附近", "门店", "柜台", "线下",
		"哪能", "哪可以", "什么地方", "去哪", "到哪", "哪个地方", "哪家", "哪办"},
	IntentAllowed: {"可以吗", "可不可以", "能不能", "能否", "是否", "行不行", "能吗", "可以不", "允许", "条件", "资格", "要求", "符合", "够不够",
		"需要什么", "要什么", "要带", "带什么", "材料", "证件",
		"行吗", "可以么", "能么", "支持吗", "支持不", "能用吗", "可以用吗", "有没有", "能办吗", "可以办吗", "还能", "能不", "可不", "限制", "年龄", "规定"},
	IntentLost: {"丢了", "丢失", "遗失", "掉了", "不见了", "被盗", "被偷", "忘了", "忘记", "想不起", "挂失", "找回", "冒用", "盗刷",
		"找不到", "弄丢", "搞丢", "丢在", "落在", "忘在", "拉在", "偷了", "抢了", "不记得", "记不得", "记不住"},
}

// intentExceptions are words containing a marker without its intent: the
// marker is ignored where it is part of one of them.
var intentExceptions = []string{"免费电话", "提示音", "收费站", "记录仪", "不了解", "证件照"}

// IntentOf returns the intents that text (normalised, see Normalize) asks.
func IntentOf(text string) Intent {
	if text == "" {
		return 0
	}
	for _, ex := range intentExceptions {
		if strings.Contains(text, ex) {
			text = strings.ReplaceAll(text, ex, " ")
		}
	}
	var in Intent
	for bit, ms := range intentMarkers {
		for _, m := range ms {
			if strings.Contains(text, m) {
				in |= bit
				break
			}
		}
	}
	return in
}
