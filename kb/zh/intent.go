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
	IntentCost     Intent = 1 << iota // 多少钱, 收费, 资费
	IntentTime                        // 多久, 几天, 什么时候
	IntentFailure                     // 为什么, 失败, 无法, 提示错误
	IntentCancel                      // 取消, 退订, 注销, 不要了
	IntentChange                      // 修改, 变更, 更换
	IntentCheck                       // 查询, 查看, 记录, 明细
	IntentPlace                       // 在哪, 网点, 营业厅
	IntentAllowed                     // 可以吗, 能不能, 条件
	IntentLost                        // 丢了, 忘记, 被盗
	IntentProgress                    // 进度, 到哪一步, 审核中, 还没装
	IntentRestore                     // 恢复, 复机, 解冻, 交了钱还是
	IntentMeaning                     // 什么意思, 什么是, 区别, 有什么用
)

// intentMarkers lists, per intent, phrases that signal it in normalised
// (simplified, lower-case) text, including the colloquial, dialect and
// pinyin-typo forms customers type. A marker that is part of a longer word
// with another meaning is listed in intentExceptions.
var intentMarkers = map[Intent][]string{
	IntentCost: {
		// Not "要花" — mostly 要花多久/要花几天/要花时间, a time
		// question; its cost uses are covered by 花钱, 花多少, 要花钱.
		// Not "怎么收" — 怎么收不到验证码 / 怎么收快递 / 怎么收藏 are far
		// more frequent than 怎么收 = how is it charged, which is covered by
		// 怎么收费, 怎么收钱, 怎么收取, 费怎么收, 钱怎么收.
		"多少钱", "多钱", "几块钱", "几块", "几毛", "收费", "收多少", "费用", "资费", "价格", "价钱", "报价", "贵不贵", "贵吗", "太贵", "便宜",
		"免费", "要钱", "花钱", "手续费", "月租", "年费", "怎么算钱", "怎么计费", "计费", "收钱", "要交多少", "交多少", "付多少", "多少费",
		"多少费用", "几个钱", "花多少", "收不收", "要不要钱", "另外收", "额外收", "给钱", "付钱吗", "扣多少", "费率", "利息多少", "怎么收费", "什么价", "啥价", "价位", "划算", "违约金", "滞纳金", "罚金", "押金",
		// official FAQ wording (收费标准, 资费标准, 计费方式, 收费项目 are covered by 收费/资费/计费)
		"价目", "单价", "售价", "定价", "标价", "原价", "差价", "涨价", "降价", "调价", "折扣", "打折", "几折",
		"有偿", "自费", "付费吗", "要付费", "需付费", "额外付费", "另行付费", "收取多少", "怎么收取", "如何收费", "如何计费", "计价",
		"扣费标准", "扣费规则", "扣费方式", "怎么扣费", "如何扣费", "扣费多少", "怎么扣钱", "扣了多少",
		"费吗", "最低消费", "低消", "保底消费", "性价比", "实惠",
		// (bare 利息 / 利率 / 保费 / 年化 are topics: 利息证明, 房贷利息扣除, 交保费, 年化收益率)
		"利息怎么算", "利息是多少", "多少利息", "利息高", "收利息", "有利息吗", "利率多少", "利率是多少", "利率怎么算", "多少利率", "利率高", "年化多少",
		"罚息", "违约费", "罚款", "保证金",
		// charges named after the service (asking about them is asking the price)
		"工本费", "服务费", "上门费", "安装费", "调试费", "材料费", "维修费", "检测费", "开户费", "补卡费", "换卡费", "功能费", "月费", "会员费",
		"运费", "邮费", "包邮", "快递费", "配送费", "打包费",
		// X费 + question, whatever X is
		"费多少", "费是多少", "费怎么算", "费怎么收", "钱怎么算", "费贵", "算钱",
		// colloquial
		"多少块", "多少元", "几元", "几十块", "几百块", "几千块", "多少一个月", "多少一月", "多少一年", "多少一次", "多少一张", "包年多少", "包月多少",
		"要交钱", "交钱吗", "出钱", "掏钱", "花费", "谁付", "收钱吗", "怎么收钱", "费怎么扣", "收了我",
		"好贵", "这么贵", "那么贵", "很贵", "有点贵", "贵了", "贵不", "变贵", "偏贵", "费这么高", "费怎么这么高", "费那么高", "费太高", "费很高", "费变高", "费突然", "费高了",
		"有优惠", "有什么优惠", "有啥优惠", "优惠吗", "优惠多少", "优惠政策",
		// dialect (Cantonese 几多钱/几钱, southwest 好多钱 = how much)
		"几多钱", "几钱", "好多钱",
		// typos and pinyin
		"多少前", "几快钱", "多少qian", "duoshaoqian",
	},
	IntentTime: {
		// existing
		"多久", "多长时间", "多少时间", "几天", "多少天", "几个小时", "几小时", "几个月", "什么时候", "啥时候", "啥时", "何时", "时效", "几点",
		"要等", "等多久", "等了", "还没到", "还没来", "一直没", "迟迟", "多快", "时间",
		"多长", "哪天", "几月", "几时", "啥时间", "什么时间", "多少个工作日", "工作日", "马上", "立即", "立刻", "当天", "隔天", "次日", "实时", "还没好", "怎么还没", "还要等", "等几天", "拖了", "生效",
		// official FAQ wording (办理时限, 处理时限, 到账时间, 营业时间 are covered by 时限/时间)
		"时限", "期限", "有效期", "保质期", "保修期", "质保期", "处理周期", "审核周期", "办理周期", "到账周期",
		"截止", "预计", "次月", "即时", "秒到", "周末", "节假日",
		"最晚", "最迟", "最快",
		// how long / when, colloquial
		"几分钟", "几日", "多少日", "几周", "多少周", "几个星期", "几个礼拜", "几礼拜", "几年", "多少年", "几号", "哪一天", "几个钟",
		"这么久", "那么久", "要好久", "好久能", "好久才", "好久到", "好久可以", "等好久",
		// waiting and urging
		"还没装", "还没上门", "还没处理", "还没发货", "还没下来", "还没审核", "还没通过", "还没办好", "还没回复", "还没人", "还没有到", "还没有来",
		"咋还没", "怎么还不", "咋还不", "还不到", "还不来", "没人来",
		"加急", "催一下", "催下", "催催", "催单", "催促", "尽快", "加快",
		// dialect: 多会儿/哪会儿 (north), 多咱/啥前儿 (northeast), 几耐 (Cantonese), 多早晚, 么子时候 (Hunan), 几多天
		"多会儿", "哪会儿", "啥会儿", "多咱", "啥前", "几耐", "多早晚", "么子时", "几多天",
		// typos and pinyin
		"么时侯", "啥时侯", "么时后", "啥时后", "神马时候", "多酒", "duojiu", "sm时候",
	},
	IntentFailure: {
		// existing
		"为什么", "为啥", "咋回事", "怎么回事", "什么原因", "啥原因", "原因", "失败", "不成功", "没成功", "无法", "不能用", "用不了", "不了",
		"没反应", "报错", "错误", "提示", "异常", "故障", "坏了", "不好使", "不行", "没用", "不上", "不进", "打不开", "登不上", "连不上", "收不到", "没收到",
		"不显示", "没信号", "卡顿", "很卡", "太卡", "太慢", "很慢", "变慢", "断网", "掉线", "不通", "被拒", "拒绝", "驳回", "没到账", "不到账",
		"不灵", "不好用", "出错", "错了", "失效", "无效", "不对", "不正常", "不出", "没到", "扣了钱", "扣钱了", "怎么办啊", "搞不定", "弄不了", "办不了", "进不去", "上不了", "打不通", "不起作用", "闪退",
		// why, other forms (为嘛 Tianjin, 为撒 southwest, 为毛 internet slang)
		"为何", "为嘛", "为撒", "为毛", "为神马", "为甚么", "为什莫", "为森么", "wsm", "凭什么", "怎么会", "怎会", "怎么了", "咋了",
		"怎么没", "咋没", "怎么搞的", "咋搞的", "咋个回事", "啥毛病", "什么毛病", "毛病", "出问题", "出了问题", "出现问题",
		// official FAQ wording (失败原因, 故障原因, 无法使用 are covered)
		"不可用", "未成功", "未到账", "未收到", "未生效", "没生效", "未通过", "没通过", "无响应", "没响应", "没有反应", "没有响应", "排查",
		"有误", "不一致", "不匹配", "描述不符", "被拦截", "被退回", "乱码", "bug",
		// the customer's own mistake (转错账了怎么办, 地址填错了)
		"转错", "填错", "写错", "输错", "充错", "付错", "汇错", "交错", "缴错", "买错", "拍错", "寄错", "发错",
		// cannot do it, colloquial (能不能用 also contains 不能用: accepted, see note at the end)
		"没法", "没办法", "不能正常", "不能上网", "不能打电话", "不能通话", "不能登录", "不能支付", "不能使用", "突然不能", "怎么不能", "咋不能", "还是不能", "一直不能", "用不成", "办不成", "弄不成", "点不开", "点不动",
		"接不到", "领不到", "搜不到", "听不见", "听不到",
		// network and signal
		"没网", "没有网", "无网络", "网络不好", "网不好", "信号不好", "信号差", "信号弱", "无信号", "没有信号", "不稳定", "不稳",
		"断线", "断流", "断开", "断了", "断断续续", "时好时坏", "老断", "经常断",
		"网速慢", "网慢", "速度慢", "好慢", "巨慢", "超慢", "特别慢", "非常慢", "有点慢", "比较慢", "越来越慢", "慢死", "慢得",
		"好卡", "特别卡", "超卡", "巨卡", "有点卡", "一直卡", "卡死", "卡住", "卡得",
		// devices, screens, sound, lamps
		"没声音", "没有声音", "无声音", "没画面", "无画面", "没图像", "无图像", "黑屏", "花屏", "白屏", "蓝屏", "闪屏", "死机", "自动重启",
		"转圈", "一直加载", "失灵", "不准", "不亮", "红灯",
		// money gone without the service
		"钱扣了", "扣了我", "扣我钱", "扣我的钱", "莫名", "乱扣", "无故扣", "无缘无故",
	},
	IntentCancel: {
		// existing
		"取消", "退订", "注销", "销户", "不要了", "不用了", "不想用", "不想要", "退掉", "关闭", "关掉", "解约", "拆机", "停用", "解绑", "撤销",
		"撤回", "终止", "退出", "停掉", "销号", "不续",
		"不办了", "不想办", "不订", "停了吧", "去掉", "删除", "删掉", "解除", "作废", "不需要了",
		// official FAQ wording (注销流程, 退订方式, 销户手续 are covered)
		"退网", "退卡", "销卡", "撤单", "关停", "报停", "拆了吧", "给我拆", "帮我拆", "暂停", "退保", "停保", "保号", "移除", "去除", "拆除", "拆掉", "撤掉",
		// colloquial
		// (bare 停止 is mostly an outage notice: 停止供暖, 停止供水, 停止发货)
		"停止扣费", "停止续费", "停止服务", "停止使用", "停止自动", "停止订阅", "停止收费",
		"不再续", "不再用", "不再使用", "不再扣", "别再扣", "不要再扣", "别扣了", "不要再发", "别再发", "别发了",
		"不想续", "不想继续", "不想开", "不想再", "不要这个", "用不着了",
		"不搞了", "不弄了", "不整了", "不玩了", "关了吧", "给我关了", "帮我关了",
		// typos
		"退定", "取销", "注消", "住销", "消户", "消号", "解邦",
	},
	IntentChange: {
		// existing
		"修改", "更改", "变更", "更换", "换成", "换个", "换一个", "改成", "改一下", "改下", "调整", "换绑", "改绑", "转成", "升级", "降级",
		"改套餐", "换套餐", "过户", "移机", "迁移", "改名", "改地址",
		"改一改", "换掉", "换到", "转到", "更新", "改为", "转为", "变成", "调高", "调低", "提高", "降低", "提升", "上调", "下调",
		// official FAQ wording (变更手续, 变更流程 are covered)
		"更正", "修正", "调换", "替换", "切换", "改动", "改变", "更名", "转让", "迁址", "移到",
		"改签", "改期", "改约", "改时间", "换时间", "改日期", "重新预约", "重新绑定", "重新设置", "重新选", "改派",
		// what is changed
		"改密码", "改资料", "改信息", "改姓名", "改手机", "改号", "换号", "换手机", "换卡", "换一张", "换新", "改预留", "改价", "改订单", "改收货",
		"调额", "提额", "降额", "调到", "升档", "降档", "提速", "升速", "转网", "转套餐", "搬家",
		// how / can I change it, colloquial
		"怎么改", "咋改", "如何改", "能改", "可以改", "想改", "要改", "改了", "改改",
		"怎么换", "咋换", "如何换", "能换", "可以换", "想换", "要换", "换一下", "换下", "调一下",
		// typos (跟换 for 更换, 变跟 for 变更, 修该 for 修改)
		"跟换", "变跟", "修该",
	},
	IntentCheck: {
		// Not 进度, 啥情况, 到哪了, 怎么样了, 审核结果: they ask where a
		// process stands, not for a figure or a record (IntentProgress).
		"查询", "查看", "查一下", "查下", "怎么查", "在哪查", "哪里查", "看一下", "怎么看", "在哪看", "记录", "明细", "清单",
		"详单", "还剩", "剩多少", "剩余",
		"查不到", "看不到", "查询方式", "怎么知道", "有多少", "还有多少",
		// official FAQ wording (查询方式, 查询渠道, 查询入口 are covered by 查询)
		"如何查", "怎样查", "咋查", "哪查", "能查", "可以查", "查得到", "查查", "查个",
		"查余额", "查话费", "查流量", "查账单", "查积分", "查订单", "查物流", "查快递", "查单号",
		"哪里看", "哪看", "看账单", "看余额", "看详单",
		"历史账单", "历史订单", "剩下多少", "剩下几", "用了多少", "使用情况", "用量",
		"咋知道", "如何知道", "如何得知",
		"有没有开通", "开通了吗", "开通了没",
		// typos (查寻, 茶询, 差询, 察看)
		"查寻", "茶询", "差询", "察看",
	},
	IntentPlace: {
		// Not "到哪" — it is the head of the progress questions
		// 到哪了 / 到哪一步 / 到哪里了; its place uses are covered by 哪办,
		// 哪交, 哪里, 去哪, 在哪.
		"在哪", "哪里", "哪儿", "哪个网点", "网点", "营业厅", "地址", "地点", "附近", "门店", "柜台", "线下",
		"哪能", "哪可以", "什么地方", "去哪", "哪个地方", "哪家", "哪办",
		// official FAQ wording (办理网点, 服务网点, 营业网点 are covered by 网点)
		"营业点", "服务点", "维修点", "售后点", "自提点", "代收点", "取件点", "营业部", "实体店", "体验店", "直营店", "专营店",
		"办事处", "大厅", "哪个窗口", "哪个店",
		"哪些渠道", "什么渠道", "哪个渠道", "啥渠道", "办理渠道", "哪些途径", "什么途径", "办理途径",
		"网上办", "线上办", "手机上办", "app上办", "网上申请", "线上申请", "网上能办", "网上可以办", "线上能办", "线上可以办", "手机上能办", "手机上可以办",
		// where + verb (到哪交 / 去哪领 ...)
		"哪交", "哪买", "哪领", "哪取", "哪拿", "哪寄", "哪修", "哪充", "哪申请", "哪开", "哪补", "哪换", "哪退",
		// where, colloquial and dialect (搁哪 northeast, 哪嗒/哪旮 northeast, 边度 Cantonese)
		"什么位置", "啥位置", "啥地方", "怎么过去", "哪边", "哪块", "搁哪", "哪嗒", "哪旮", "边度",
	},
	IntentAllowed: {
		// Not "带什么" — 宽带什么时候 / 宽带什么原因, the most
		// frequent topic in broadband sets, contains it; covered by 要带,
		// 携带什么, 得带什么, 带什么东西. Not "要什么" — 要什么时候才能到
		// is a time question; covered by 需要什么, 要什么材料/手续/资料/东西.
		// Not "能不" — part of 功能不好用 / 可能不 / 性能不; its intended
		// form 能不能 is listed.
		"可以吗", "可不可以", "能不能", "能否", "是否", "行不行", "能吗", "可以不", "允许", "条件", "资格", "要求", "符合", "够不够",
		"需要什么", "要带", "材料", "证件",
		"行吗", "可以么", "能么", "支持吗", "支持不", "能用吗", "可以用吗", "有没有", "能办吗", "可以办吗", "还能", "可不", "限制", "年龄", "规定",
		// official FAQ wording (办理条件, 申请条件, 所需材料 are covered)
		"适用", "范围", "门槛", "资质", "准许", "最多能", "最多可以", "最多几",
		"可否", "可以办理吗", "能办理吗", "可以的吗", "需不需要", "用不用", "让不让", "给不给",
		"要什么材料", "要什么手续", "要什么资料", "要什么东西", "要什么证", "要什么才", "要些什么", "需要哪些", "要哪些", "准备什么", "准备哪些",
		"提供什么", "提供哪些", "要啥材料", "要啥证", "要啥手续", "需要啥",
		"携带什么", "得带什么", "该带什么", "都带什么", "带什么东西", "带什么去", "携带哪些", "需带",
		"支持", // 支持吗, 支持哪些, 支不支持, 是否支持X; 技术支持 is an exception
		// who may do it (in person, by proxy)
		"必须", "一定要", "一定得", "非得", "非要", "是不是只能", "难道只能", "只能本人", "必需", "本人去", "本人到场", "必须本人", "需要本人", "要本人", "非本人",
		"代办", "别人代", "家人代", "几岁",
		// can I X?
		// (generic 能X / 可以X are not markers: 什么时候能装, 多久可以退, 哪里可以办 ask when / where)
		"能退吗", "可以退吗", "能退订吗", "能开吗", "能安装吗", "可以装吗", "可以安装吗", "能装吗", "能改吗", "可以改吗", "能换吗", "可以换吗", "能取消吗", "可以取消吗", "能转吗", "能补吗",
		"能开通吗", "可以开通吗", "能申请吗", "可以申请吗", "能上门吗", "能分期吗", "可以分期吗", "能延期吗", "能退款吗", "能退货吗", "能报销吗",
		// colloquial and dialect (中不中 Henan, 得不得行/得行不 southwest, 伐 Wu, 阔以 internet)
		"可以嘛", "能嘛", "行么", "行嘛", "中不中", "得不得行", "得行不", "可以伐", "能伐", "阔以", "成不成",
	},
	IntentLost: {
		// existing
		"丢了", "丢失", "遗失", "掉了", "不见了", "被盗", "被偷", "忘了", "忘记", "想不起", "挂失", "找回", "冒用", "盗刷",
		"找不到", "弄丢", "搞丢", "丢在", "落在", "忘在", "拉在", "偷了", "抢了", "不记得", "记不得", "记不住",
		// official FAQ wording (挂失补办)
		"补办", "补卡", "补领", "补换", "止付", "遗落", "遗忘", "盗号", "盗用", "冒名", "冒领",
		// colloquial and dialect (搞忘 southwest, 整忘 northeast, 找不着 north, 找不见 northwest)
		"丢啦", "丢哪", "丢卡", "丢手机", "弄掉", "掉哪", "被扒", "被抢", "被黑", "被刷", "被转走", "被拿走", "被人拿", "被别人拿",
		"搞忘", "整忘", "忘啦", "忘掉", "记不清", "记不起", "不知道密码", "找不着", "找不见", "捡到",
	},
	IntentProgress: {
		// moved from IntentCheck
		"进度", "啥情况", "什么情况", "到哪了", "到哪一步", "怎么样了", "审核结果", "有结果", "批了没", "批下来", "下来了吗",
		// official FAQ wording
		"进展", "审批结果", "处理结果", "办理结果", "受理结果", "跟进",
		"审核中", "处理中", "受理中", "办理中", "待审核", "待处理", "待发货", "派送中",
		"什么状态", "啥状态", "订单状态", "办理状态", "审核状态", "处理状态", "申请状态", "物流状态",
		// where is it now, colloquial
		"到哪里了", "到哪儿了", "到什么程度", "到哪步", "走到哪",
		"批了吗", "下来没", "通过了吗", "通过没", "过了没", "处理了吗", "处理了没", "处理好了吗", "处理好没", "处理完了吗", "处理完没",
		"办好了吗", "办好没", "好了没", "好了吗", "受理了吗", "受理没",
		"发货了吗", "发货没", "发了没", "寄出了吗", "寄了没", "到账了吗", "到账没", "到了没",
		"有消息吗", "有没有消息", "没消息", "没有消息", "有回复吗", "没回复", "没人回", "没人理", "没人管", "没人联系", "没人处理", "有回音",
		"物流不动", "物流没动", "没动静", "一直不动", "都不动", "没人来", "不发货", "没发货", "怎么催", "催发货", "催件",
		// waiting, shared with IntentTime (either sibling answers it)
		"还没到", "还没来", "还没好", "怎么还没", "咋还没", "还没装", "还没上门", "还没处理", "还没发货", "还没下来", "还没审核", "还没通过",
		"还没办好", "还没回复", "还没人", "等了", "拖了", "迟迟", "催一下", "催下", "催催", "催单", "催促",
	},
	IntentRestore: {
		// official FAQ wording
		"恢复", "复机", "复通", "复电", "解冻", "解封", "解锁", "解挂", "解除冻结", "解除限制", "解除锁定", "解除止付",
		"重新开通", "重新启用", "重新激活", "再次开通", "开通回来",
		// the suspended / frozen state itself
		"停机了", "被停机", "停机状态", "欠费停", "单停了", "双停了", "被单停", "被双停", "被停了", "停网了", "被断网",
		"被冻结", "冻结了", "冻住", "被封", "封号", "封了", "被锁", "锁住", "锁定了", "被限制", "限制了", "受限了",
		// paid, still not back
		"还是停机", "突然停机",
		// (交了钱 / 缴费后 / 已充值 alone are not markers: 交了钱还没到账, 充值后插表没反应
		// are about the payment itself; 还是 = "still" carries the restore reading)
		"交了钱还是", "交了费还是", "缴了费还是", "交钱了还是", "交费了还是", "缴费了还是", "交完钱还是", "交完费还是", "缴完费还是",
		"充了钱还是", "充完钱还是", "充值了还是", "充了值还是", "续费了还是", "补交了还是", "补缴了还是",
		"交了钱还不", "交了费还不", "缴了费还不", "充了钱还不", "充值了还不", "交完钱还不", "交完费还不", "缴完费还不",
	},
	IntentMeaning: {
		// what is it / what does it mean (bare 是什么 / 是啥 are not markers, see the const comment)
		"什么意思", "啥意思", "何意", "什么是", "啥是", "什么叫", "啥叫", "何为", "何谓", "含义", "定义", "是指", "指的是", "指什么", "啥玩意",
		"是什么东西", "是什么业务", "是什么服务", "是什么费", "是什么钱", "是啥东西", "是啥业务", "是啥费", "是啥钱",
		"介绍", "解释一下", "说明一下",
		// what is it for
		"有什么用", "有啥用", "什么用处", "啥用处", "干嘛用", "干什么用", "干啥用", "是干嘛", "是干什么", "干嘛的", "干什么的", "干啥的", "做什么的",
		"有什么作用", "有啥作用", "什么作用", "的作用", "作用是", "有什么用途", "什么用途", "啥用途",
		// difference
		"区别", "差别", "差异", "有什么不同", "有啥不同", "有何不同", "不同之处", "不同点", "一样吗", "一样不", "一回事",
	},
}

// intentExceptions are words containing a marker without its intent: the
// marker is ignored where it is part of one of them. An exception removes the
// whole word before any marker is matched, so none of these contains a marker
// of another intent that should still fire.
var intentExceptions = []string{
	// existing
	"免费电话", "提示音", "收费站", "记录仪", "不了解", "证件照",
	// cost
	"运费险",  // shipping insurance, a product
	"价格保护", // price protection, an e-commerce service
	// time
	"马上消费",                      // 马上消费金融, a lender
	"几号线",                       // subway line
	"好几天", "好几日", "好几个月", "好几年", // how long it has been, not how long it takes
	"约时间", "一段时间", // 预约时间 / 约个时间 is the appointment; 停一段时间
	"这几天", "近几天", "那几天", "这几日", "近几日", "这几个月", "近几个月", "这几年", "近几年", // when it happened, not how long
	// (not 前几天: it would also cut 提前几天)
	// failure
	"上不上",          // 上不上门 / 周末上不上班 ask whether, not why not
	"对不对",          // confirmation, not 不对
	"怎么了解",         // 怎么了 is a marker
	"来电提示", "提示服务", // call-reminder service, balance-reminder service (topics)
	"没到期",                         // not expired yet (also keeps 还没到期 out of Time)
	"没用过", "好久没用", "很久没用", "一直没用", // never / long unused: a situation, not 没用 = useless
	// progress
	"情况下", // 什么情况下会停机 asks under which conditions, not how things stand
	// change
	"不更新", "没更新", "没有更新", "未更新", // 物流不更新 etc.: nothing is being changed
	"换货", "退换", // goods exchange is a topic, like 退款
	"转到人工",     // transfer to an agent
	"周转", "中转", // 周转为什么…, 中转到哪了: 转为 / 转到 are change markers
	"兑换",          // 兑换到账: redeeming is not changing
	"携号转网", "提速包", // product names (转网, 提速 stay markers)
	// check
	"信用记录", "征信记录", "不良记录", // credit history is a topic
	// place: 地址 as a field of the account or order, not a service point
	"收货地址", "收件地址", "寄件地址", "发货地址", "邮寄地址", "配送地址", "送货地址", "账单地址", "邮箱地址", "ip地址", "mac地址",
	"安装地址", "装机地址", "家庭地址", "居住地址", "联系地址", "通讯地址", "户籍地址", "注册地址",
	"退货地址", "退回地址", "公网地址", "外网地址", "固定地址", "上车地址", "下车地址", "邮件地址", "官网地址", "ipv6地址", "ipv4地址",
	"网上营业厅", "掌上营业厅", "手机营业厅", // apps, not a place
	// lost
	"坐落在", // 营业厅坐落在…
	"扣掉",  // 话费被扣掉了: money deducted, nothing lost
	// restore
	"恢复出厂", "恢复默认", // factory reset of a device
	"指纹解锁", "手势解锁", "图案解锁", "面部解锁", "人脸解锁", "滑动解锁", // phone screen lock
	// allowed
	"技术支持",
	// meaning
	"自定义", // customise
}

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
		t := text
		for _, ex := range intentOnlyExceptions[bit] {
			if strings.Contains(t, ex) {
				t = strings.ReplaceAll(t, ex, " ")
			}
		}
		for _, m := range ms {
			if strings.Contains(t, m) {
				in |= bit
				break
			}
		}
	}
	return in
}

// intentOnlyExceptions are phrases in which one intent's marker does not
// mean that intent while another intent's marker in the same phrase still
// counts: 行不行 asks whether something is allowed, and its 不行 is not a
// failure. They are cut out only while that one intent is matched.
var intentOnlyExceptions = map[Intent][]string{
	IntentFailure: {"行不行", "能不能用", "可不可以用", "能用吗", "能不能上", "不行的话"},
	IntentLost:    {"关掉了", "删掉了", "退掉了", "停掉了", "去掉了"},
	IntentPlace:   {"到哪里了", "到哪儿了", "到哪了"},
	IntentCost:    {"花多少时间", "花多久", "要花多长"},
}
