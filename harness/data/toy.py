"""A toy parallel corpus of arithmetic word problems, written by our own code.

It stands in for the study's translated training corpora (GSM8K, LUFFY) in tests and in the
offline default: one record per (problem, language), with the schema of the real corpora, and
every problem told in all ten study languages with the same numbers and the same answer. The
problems are small (answers below 1000, two or three operations at most) so a tiny model can learn
them, and deterministic by seed.

The words below are template data (names, items, sentences), not harness literals; the only
literal used is the localized "the answer is" phrase, from :mod:`harness.core.literals`.
Numbers are written with ASCII digits in every language, as the real corpora's answers are.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator, Sequence

from harness.core.literals import BOXED_INSTRUCTION, LITERALS, STUDY_LANGUAGES

SOURCE = "toy"
SPLITS = ("train", "test")

# --- template data -------------------------------------------------------------------------------
# Names (all female, so pronouns and Russian past tenses agree), index-aligned across languages.
# Russian and Bengali also need the genitive ("У Анны ...", "রিমার কাছে ...").
_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Anna", "Maria", "Lucy", "Emma"),
    "zh": ("小红", "小丽", "王芳", "李娜"),
    "de": ("Anna", "Lena", "Sophie", "Mia"),
    "es": ("Ana", "Lucía", "Carmen", "Sofía"),
    "fr": ("Marie", "Claire", "Julie", "Camille"),
    "ja": ("さくら", "ゆい", "花子", "美咲"),
    "ru": ("Анна", "Мария", "Ольга", "Наташа"),
    "th": ("มะลิ", "นภา", "สมศรี", "ดารุณี"),
    "sw": ("Amina", "Neema", "Halima", "Rehema"),
    "bn": ("রিমা", "মিতা", "সুমি", "তানিয়া"),
}
_RU_NAME_GEN = ("Анны", "Марии", "Ольги", "Наташи")

# Items, index-aligned across languages (apple, pencil, cookie, book, egg, sticker); the fields
# each language's sentences need.
_ITEMS: dict[str, tuple[dict[str, object], ...]] = {
    "en": tuple({"sg": s, "pl": p} for s, p in (
        ("apple", "apples"), ("pencil", "pencils"), ("cookie", "cookies"),
        ("book", "books"), ("egg", "eggs"), ("sticker", "stickers"))),
    "zh": tuple({"cl": c, "noun": n} for c, n in (
        ("个", "苹果"), ("支", "铅笔"), ("块", "饼干"), ("本", "书"), ("个", "鸡蛋"), ("张", "贴纸"))),
    "de": tuple({"ein": e, "sg": s, "pl": p} for e, s, p in (
        ("Ein", "Apfel", "Äpfel"), ("Ein", "Bleistift", "Bleistifte"), ("Ein", "Keks", "Kekse"),
        ("Ein", "Buch", "Bücher"), ("Ein", "Ei", "Eier"), ("Ein", "Aufkleber", "Aufkleber"))),
    "es": tuple({"sg": s, "pl": p, "fem": f} for s, p, f in (
        ("manzana", "manzanas", True), ("lápiz", "lápices", False),
        ("galleta", "galletas", True), ("libro", "libros", False),
        ("huevo", "huevos", False), ("pegatina", "pegatinas", True))),
    "fr": tuple({"sg": s, "pl": p, "fem": f} for s, p, f in (
        ("pomme", "pommes", True), ("crayon", "crayons", False), ("biscuit", "biscuits", False),
        ("livre", "livres", False), ("œuf", "œufs", False), ("autocollant", "autocollants", False))),
    "ja": tuple({"noun": n, "ctr": c} for n, c in (
        ("りんご", "個"), ("鉛筆", "本"), ("クッキー", "枚"), ("本", "冊"), ("卵", "個"), ("シール", "枚"))),
    # nominative singular, accusative singular, genitive singular, genitive plural
    "ru": tuple({"forms": f} for f in (
        ("яблоко", "яблоко", "яблока", "яблок"), ("карандаш", "карандаш", "карандаша", "карандашей"),
        ("печенье", "печенье", "печенья", "печений"), ("книга", "книгу", "книги", "книг"),
        ("яйцо", "яйцо", "яйца", "яиц"), ("наклейка", "наклейку", "наклейки", "наклеек"))),
    "th": tuple({"noun": n, "cl": c} for n, c in (
        ("แอปเปิล", "ลูก"), ("ดินสอ", "แท่ง"), ("คุกกี้", "ชิ้น"), ("หนังสือ", "เล่ม"),
        ("ไข่", "ฟอง"), ("สติกเกอร์", "แผ่น"))),
    # singular, plural, "one X" and "how many" agree with the noun class
    "sw": tuple({"sg": s, "pl": p, "one": o, "ngapi": g} for s, p, o, g in (
        ("tufaha", "matufaha", "tufaha moja", "mangapi"), ("penseli", "penseli", "penseli moja", "ngapi"),
        ("biskuti", "biskuti", "biskuti moja", "ngapi"), ("kitabu", "vitabu", "kitabu kimoja", "vingapi"),
        ("yai", "mayai", "yai moja", "mangapi"), ("stika", "stika", "stika moja", "ngapi"))),
    "bn": tuple({"noun": n, "gen": g} for n, g in (
        ("আপেল", "আপেলের"), ("পেনসিল", "পেনসিলের"), ("বিস্কুট", "বিস্কুটের"), ("বই", "বইয়ের"),
        ("ডিম", "ডিমের"), ("স্টিকার", "স্টিকারের"))),
}
_RU_RUBLE = ("рубль", "рубль", "рубля", "рублей")
_RU_DAY = ("день", "день", "дня", "дней")
_RU_BAG = ("пакет", "пакет", "пакета", "пакетов")

# What separates sentences (none after 。 in Chinese and Japanese) and how each language closes a
# solution after "<answer phrase> \boxed{N}".
_SENTENCE_GAP = {"zh": "", "ja": ""}
_CLOSING = {"en": ".", "zh": "。", "de": ".", "es": ".", "fr": ".", "ja": " です。", "ru": ".",
            "th": "", "sw": ".", "bn": "।"}

# Sentences: template -> language -> (question, solution without the final answer sentence).
# Placeholders: {N} name, item fields, and the template's numbers; Russian adds {x_it} / {x_ita}
# (count phrase, nominative / accusative), {x_rub}, {x_day}, {x_bag} for every number x.
_TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "add": {
        "en": ("{N} has {a} {pl}. She buys {b} more {pl}. How many {pl} does she have now?",
               "{N} starts with {a} {pl}. She buys {b} more, so she has {a} + {b} = {r} {pl}."),
        "zh": ("{N}有{a}{cl}{noun}。她又买了{b}{cl}{noun}。她现在有多少{cl}{noun}？",
               "{N}原来有{a}{cl}{noun}，又买了{b}{cl}，所以现在有{a} + {b} = {r}{cl}{noun}。"),
        "de": ("{N} hat {a} {pl}. Sie kauft {b} weitere {pl}. Wie viele {pl} hat sie jetzt?",
               "{N} hat zuerst {a} {pl}. Sie kauft {b} weitere dazu, also hat sie {a} + {b} = {r} {pl}."),
        "es": ("{N} tiene {a} {pl}. Compra {b} {pl} más. ¿{Cuantos} {pl} tiene ahora?",
               "{N} empieza con {a} {pl}. Compra {b} más, así que tiene {a} + {b} = {r} {pl}."),
        "fr": ("{N} a {a} {pl}. Elle achète {b} {pl} de plus. Combien {de}{pl} a-t-elle maintenant ?",
               "{N} a d'abord {a} {pl}. Elle en achète {b} de plus, donc elle a {a} + {b} = {r} {pl}."),
        "ja": ("{N}さんは{noun}を{a}{ctr}持っています。さらに{noun}を{b}{ctr}買いました。{N}さんは今、{noun}を何{ctr}持っていますか？",
               "最初に{noun}が{a}{ctr}あります。{b}{ctr}買ったので、{a} + {b} = {r}{ctr}になります。"),
        "ru": ("У {NG} есть {a_it}. Она покупает ещё {b_ita}. Сколько {many} у неё теперь?",
               "Сначала у {NG} {a_it}. Она покупает ещё {b}, поэтому теперь у неё {a} + {b} = {r_it}."),
        "th": ("{N}มี{noun} {a} {cl} แล้วซื้อเพิ่มอีก {b} {cl} ตอนนี้{N}มี{noun}กี่{cl}",
               "ตอนแรก{N}มี{noun} {a} {cl} ซื้อเพิ่มอีก {b} {cl} จึงมีทั้งหมด {a} + {b} = {r} {cl}"),
        "sw": ("{N} ana {pl} {a}. Ananunua {pl} {b} zaidi. Sasa ana {pl} {ngapi}?",
               "Mwanzoni {N} ana {pl} {a}. Ananunua {pl} {b} zaidi, kwa hiyo sasa ana {a} + {b} = {r}."),
        "bn": ("{NG} কাছে {a}টি {noun} আছে। সে আরও {b}টি {noun} কিনল। এখন তার কাছে কতটি {noun} আছে?",
               "প্রথমে {NG} কাছে {a}টি {noun} ছিল। সে আরও {b}টি কিনল, তাই এখন তার কাছে {a} + {b} = {r}টি {noun} আছে।"),
    },
    "sub": {
        "en": ("{N} has {a} {pl}. She gives {b} {pl} to her friend. How many {pl} does she have left?",
               "{N} has {a} {pl} and gives away {b}, so she has {a} - {b} = {r} {pl} left."),
        "zh": ("{N}有{a}{cl}{noun}，她送给朋友{b}{cl}。她还剩多少{cl}{noun}？",
               "{N}有{a}{cl}{noun}，送出{b}{cl}，所以还剩{a} - {b} = {r}{cl}。"),
        "de": ("{N} hat {a} {pl}. Sie schenkt ihrer Freundin {b} {pl}. Wie viele {pl} hat sie noch?",
               "{N} hat {a} {pl} und verschenkt {b} davon. Also bleiben ihr {a} - {b} = {r} {pl}."),
        "es": ("{N} tiene {a} {pl}. Le regala {b} {pl} a su amiga. ¿{Cuantos} {pl} le quedan?",
               "{N} tiene {a} {pl} y regala {b}, así que le quedan {a} - {b} = {r} {pl}."),
        "fr": ("{N} a {a} {pl}. Elle en donne {b} à son amie. Combien {de}{pl} lui reste-t-il ?",
               "{N} a {a} {pl} et en donne {b}, donc il lui reste {a} - {b} = {r} {pl}."),
        "ja": ("{N}さんは{noun}を{a}{ctr}持っています。友だちに{b}{ctr}あげました。{noun}は何{ctr}残っていますか？",
               "{noun}は{a}{ctr}あり、{b}{ctr}あげたので、残りは{a} - {b} = {r}{ctr}です。"),
        "ru": ("У {NG} {a_it}. Она дарит подруге {b_ita}. Сколько {many} у неё осталось?",
               "У {NG} было {a_it}, она подарила {b}, поэтому осталось {a} - {b} = {r_it}."),
        "th": ("{N}มี{noun} {a} {cl} ให้เพื่อนไป {b} {cl} {N}เหลือ{noun}กี่{cl}",
               "{N}มี{noun} {a} {cl} ให้เพื่อนไป {b} {cl} จึงเหลือ {a} - {b} = {r} {cl}"),
        "sw": ("{N} ana {pl} {a}. Anampa rafiki yake {pl} {b}. Amebaki na {pl} {ngapi}?",
               "{N} ana {pl} {a} na anampa rafiki yake {b}, kwa hiyo amebaki na {a} - {b} = {r}."),
        "bn": ("{NG} কাছে {a}টি {noun} আছে। সে তার বন্ধুকে {b}টি {noun} দিল। তার কাছে আর কতটি {noun} বাকি আছে?",
               "{NG} কাছে {a}টি {noun} ছিল। সে {b}টি দিয়ে দিল, তাই বাকি আছে {a} - {b} = {r}টি {noun}।"),
    },
    "price": {
        "en": ("One {sg} costs {p} dollars. {N} buys {k} {pl}. How many dollars does she pay?",
               "Each {sg} costs {p} dollars, and she buys {k}, so she pays {k} × {p} = {r} dollars."),
        "zh": ("每{cl}{noun}{p}元。{N}买了{k}{cl}{noun}。她一共要付多少元？",
               "每{cl}{noun}{p}元，买了{k}{cl}，所以一共要付{k} × {p} = {r}元。"),
        "de": ("{ein} {sg} kostet {p} Euro. {N} kauft {k} {pl}. Wie viel Euro muss sie bezahlen?",
               "{ein} {sg} kostet {p} Euro und sie kauft {k} Stück, also bezahlt sie {k} × {p} = {r} Euro."),
        "es": ("{Un} {sg} cuesta {p} euros. {N} compra {k} {pl}. ¿Cuántos euros paga en total?",
               "Cada {sg} cuesta {p} euros y compra {k}, así que paga {k} × {p} = {r} euros."),
        "fr": ("{Un} {sg} coûte {p} euros. {N} achète {k} {pl}. Combien d'euros paie-t-elle ?",
               "Chaque {sg} coûte {p} euros et elle en achète {k}, donc elle paie {k} × {p} = {r} euros."),
        "ja": ("{noun}は1{ctr}{p}円です。{N}さんは{noun}を{k}{ctr}買いました。全部でいくら払いましたか？",
               "1{ctr}{p}円の{noun}を{k}{ctr}買ったので、{k} × {p} = {r}円です。"),
        "ru": ("{One} стоит {p_rub}. {N} покупает {k_ita}. Сколько рублей она заплатит?",
               "{One} стоит {p_rub}, а {N} покупает {k_ita}, поэтому она заплатит {k} × {p} = {r_rub}."),
        "th": ("{noun}ราคา{cl}ละ {p} บาท {N}ซื้อ{noun} {k} {cl} {N}ต้องจ่ายเงินกี่บาท",
               "{noun}ราคา{cl}ละ {p} บาท ซื้อ {k} {cl} จึงต้องจ่าย {k} × {p} = {r} บาท"),
        "sw": ("Bei ya {one} ni shilingi {p}. {N} ananunua {pl} {k}. Atalipa shilingi ngapi?",
               "Bei ya kila {sg} ni shilingi {p} na ananunua {k}, kwa hiyo atalipa shilingi {k} × {p} = {r}."),
        "bn": ("একটি {gen} দাম {p} টাকা। {N} {k}টি {noun} কিনল। তাকে মোট কত টাকা দিতে হবে?",
               "প্রতিটি {gen} দাম {p} টাকা এবং সে {k}টি কিনল, তাই মোট দাম {k} × {p} = {r} টাকা।"),
    },
    "share": {
        "en": ("{N} has {a} {pl}. She shares them equally among {k} friends. How many {pl} does each friend get?",
               "{N} divides {a} {pl} among {k} friends, so each friend gets {a} ÷ {k} = {r} {pl}."),
        "zh": ("{N}有{a}{cl}{noun}，她把这些{noun}平均分给{k}个朋友。每个朋友分到多少{cl}？",
               "把{a}{cl}{noun}平均分给{k}个朋友，每个朋友分到{a} ÷ {k} = {r}{cl}。"),
        "de": ("{N} hat {a} {pl}. Sie verteilt sie gleichmäßig an {k} Freundinnen. Wie viele {pl} bekommt jede Freundin?",
               "{N} verteilt {a} {pl} auf {k} Freundinnen, also bekommt jede {a} ÷ {k} = {r} {pl}."),
        "es": ("{N} tiene {a} {pl} y {los} reparte en partes iguales entre {k} amigas. ¿{Cuantos} {pl} recibe cada amiga?",
               "{N} reparte {a} {pl} entre {k} amigas, así que cada una recibe {a} ÷ {k} = {r} {pl}."),
        "fr": ("{N} a {a} {pl}. Elle les partage équitablement entre {k} amies. Combien {de}{pl} chaque amie reçoit-elle ?",
               "{N} partage {a} {pl} entre {k} amies, donc chacune reçoit {a} ÷ {k} = {r} {pl}."),
        "ja": ("{N}さんは{noun}を{a}{ctr}持っています。{k}人の友だちに同じ数ずつ分けます。1人あたり何{ctr}もらえますか？",
               "{a}{ctr}を{k}人で同じ数ずつ分けるので、1人あたり{a} ÷ {k} = {r}{ctr}です。"),
        "ru": ("У {NG} {a_it}. Она поровну делит их между {k} подругами. Сколько {many} получит каждая подруга?",
               "{N} делит {a_ita} между {k} подругами, поэтому каждая получит {a} ÷ {k} = {r_ita}."),
        "th": ("{N}มี{noun} {a} {cl} แบ่งให้เพื่อน {k} คนเท่าๆ กัน เพื่อนแต่ละคนจะได้{noun}กี่{cl}",
               "แบ่ง{noun} {a} {cl} ให้เพื่อน {k} คนเท่าๆ กัน แต่ละคนจะได้ {a} ÷ {k} = {r} {cl}"),
        "sw": ("{N} anagawa {pl} {a} kwa usawa kwa marafiki {k}. Kila rafiki atapata {pl} {ngapi}?",
               "Tunagawa {a} kwa {k}: {a} ÷ {k} = {r}. Kwa hiyo kila rafiki atapata {pl} {r}."),
        "bn": ("{NG} কাছে {a}টি {noun} আছে। সে এগুলো {k} জন বন্ধুর মধ্যে সমানভাবে ভাগ করে দিল। প্রত্যেক বন্ধু কতটি করে {noun} পেল?",
               "{a}টি {noun} {k} জন বন্ধুর মধ্যে সমানভাবে ভাগ করলে প্রত্যেকে পায় {a} ÷ {k} = {r}টি।"),
    },
    "bags": {
        "en": ("{N} has {a} {pl}. She buys {k} bags with {m} {pl} in each bag. Then she gives {g} {pl} to her sister. How many {pl} does she have now?",
               "The bags hold {k} × {m} = {km} {pl}. Together with her own, she has {a} + {km} = {s} {pl}. "
               "After giving away {g}, she has {s} - {g} = {r} {pl}."),
        "zh": ("{N}有{a}{cl}{noun}。她又买了{k}袋{noun}，每袋有{m}{cl}。然后她给了妹妹{g}{cl}。她现在有多少{cl}{noun}？",
               "{k}袋共有{k} × {m} = {km}{cl}{noun}。加上原来的，她有{a} + {km} = {s}{cl}。给了妹妹{g}{cl}后，还有{s} - {g} = {r}{cl}。"),
        "de": ("{N} hat {a} {pl}. Sie kauft {k} Tüten, in jeder Tüte sind {m} {pl}. Dann schenkt sie ihrer Schwester {g} {pl}. Wie viele {pl} hat sie jetzt?",
               "In den Tüten sind {k} × {m} = {km} {pl}. Zusammen mit ihren eigenen hat sie {a} + {km} = {s} {pl}. "
               "Nachdem sie {g} verschenkt hat, bleiben {s} - {g} = {r} {pl}."),
        "es": ("{N} tiene {a} {pl}. Compra {k} bolsas con {m} {pl} cada una. Luego le da {g} {pl} a su hermana. ¿{Cuantos} {pl} tiene ahora?",
               "Las bolsas tienen {k} × {m} = {km} {pl}. En total tiene {a} + {km} = {s} {pl}. "
               "Después de dar {g}, le quedan {s} - {g} = {r} {pl}."),
        "fr": ("{N} a {a} {pl}. Elle achète {k} sacs de {m} {pl} chacun. Ensuite, elle donne {g} {pl} à sa sœur. Combien {de}{pl} a-t-elle maintenant ?",
               "Les sacs contiennent {k} × {m} = {km} {pl}. Au total, elle a {a} + {km} = {s} {pl}. "
               "Après en avoir donné {g}, il lui reste {s} - {g} = {r} {pl}."),
        "ja": ("{N}さんは{noun}を{a}{ctr}持っています。{noun}が{m}{ctr}ずつ入った袋を{k}袋買いました。そのあと、妹に{g}{ctr}あげました。{noun}は今何{ctr}ありますか？",
               "袋の{noun}は{k} × {m} = {km}{ctr}です。もとの分と合わせて{a} + {km} = {s}{ctr}になります。"
               "妹に{g}{ctr}あげたので、{s} - {g} = {r}{ctr}です。"),
        "ru": ("У {NG} {a_it}. Она покупает {k_bag}, в каждом по {m_it}. Потом она дарит сестре {g_ita}. Сколько {many} у неё теперь?",
               "В пакетах {k} × {m} = {km_it}. Вместе с прежними у неё {a} + {km} = {s_it}. "
               "После того как она подарила {g}, осталось {s} - {g} = {r_it}."),
        "th": ("{N}มี{noun} {a} {cl} แล้วซื้อ{noun}มาอีก {k} ถุง ถุงละ {m} {cl} จากนั้นให้น้องสาวไป {g} {cl} ตอนนี้{N}มี{noun}กี่{cl}",
               "ในถุงมี{noun} {k} × {m} = {km} {cl} รวมกับที่มีอยู่เดิมเป็น {a} + {km} = {s} {cl} "
               "ให้น้องสาวไป {g} {cl} จึงเหลือ {s} - {g} = {r} {cl}"),
        "sw": ("{N} ana {pl} {a}. Ananunua mifuko {k}, na kila mfuko una {pl} {m}. Kisha anampa dada yake {pl} {g}. Sasa ana {pl} {ngapi}?",
               "Mifuko ina {pl} {k} × {m} = {km}. Kwa jumla ana {a} + {km} = {s}. "
               "Baada ya kumpa dada yake {g}, anabaki na {s} - {g} = {r}."),
        "bn": ("{NG} কাছে {a}টি {noun} আছে। সে {k}টি ব্যাগ কিনল, প্রতিটি ব্যাগে {m}টি করে {noun} আছে। তারপর সে তার বোনকে {g}টি {noun} দিল। এখন তার কাছে কতটি {noun} আছে?",
               "ব্যাগগুলোতে আছে {k} × {m} = {km}টি {noun}। আগেরগুলো মিলিয়ে তার কাছে {a} + {km} = {s}টি। "
               "বোনকে {g}টি দেওয়ার পর থাকে {s} - {g} = {r}টি।"),
    },
    "save": {
        "en": ("{N} saves {p} dollars every day for {d} days. Then she spends {s} dollars on a present. How many dollars does she have left?",
               "In {d} days she saves {d} × {p} = {t} dollars. After spending {s}, she has {t} - {s} = {r} dollars left."),
        "zh": ("{N}每天存{p}元，存了{d}天。然后她花{s}元买了一份礼物。她还剩多少元？",
               "{d}天一共存了{d} × {p} = {t}元。花掉{s}元后，还剩{t} - {s} = {r}元。"),
        "de": ("{N} spart {d} Tage lang jeden Tag {p} Euro. Dann gibt sie {s} Euro für ein Geschenk aus. Wie viel Euro hat sie noch?",
               "In {d} Tagen spart sie {d} × {p} = {t} Euro. Nachdem sie {s} Euro ausgegeben hat, bleiben ihr {t} - {s} = {r} Euro."),
        "es": ("{N} ahorra {p} euros cada día durante {d} días. Después gasta {s} euros en un regalo. ¿Cuántos euros le quedan?",
               "En {d} días ahorra {d} × {p} = {t} euros. Después de gastar {s}, le quedan {t} - {s} = {r} euros."),
        "fr": ("{N} économise {p} euros par jour pendant {d} jours. Ensuite, elle dépense {s} euros pour un cadeau. Combien d'euros lui reste-t-il ?",
               "En {d} jours, elle économise {d} × {p} = {t} euros. Après avoir dépensé {s} euros, il lui reste {t} - {s} = {r} euros."),
        "ja": ("{N}さんは毎日{p}円ずつ{d}日間貯金しました。そのあと、プレゼントに{s}円使いました。お金はいくら残っていますか？",
               "{d}日間で{d} × {p} = {t}円貯まります。{s}円使ったので、残りは{t} - {s} = {r}円です。"),
        "ru": ("{N} каждый день откладывает {p_rub}, и так {d_day} подряд. Потом она тратит {s_rub} на подарок. Сколько рублей у неё осталось?",
               "За {d_day} она откладывает {d} × {p} = {t_rub}. После того как она потратила {s_rub}, осталось {t} - {s} = {r_rub}."),
        "th": ("{N}เก็บเงินวันละ {p} บาท เป็นเวลา {d} วัน จากนั้นใช้เงิน {s} บาทซื้อของขวัญ {N}เหลือเงินกี่บาท",
               "{d} วันเก็บเงินได้ {d} × {p} = {t} บาท ใช้ไป {s} บาท จึงเหลือ {t} - {s} = {r} บาท"),
        "sw": ("{N} anaweka akiba ya shilingi {p} kila siku kwa siku {d}. Kisha anatumia shilingi {s} kununua zawadi. Amebaki na shilingi ngapi?",
               "Kwa siku {d} anaweka akiba ya shilingi {d} × {p} = {t}. Baada ya kutumia shilingi {s}, anabaki na {t} - {s} = {r}."),
        "bn": ("{N} প্রতিদিন {p} টাকা করে {d} দিন জমাল। তারপর সে একটি উপহার কিনতে {s} টাকা খরচ করল। তার কাছে আর কত টাকা রইল?",
               "{d} দিনে সে জমায় {d} × {p} = {t} টাকা। {s} টাকা খরচ করার পর থাকে {t} - {s} = {r} টাকা।"),
    },
}
TEMPLATES: tuple[str, ...] = tuple(_TEMPLATES)


# --- numbers -------------------------------------------------------------------------------------
# One-operation problems: the two numbers drawn (in this order) and the problem they make.
_ONE_OPERATION: dict[str, Callable[[int, int], dict[str, int]]] = {
    "add": lambda a, b: {"a": a, "b": b, "r": a + b},
    "sub": lambda b, r: {"a": b + r, "b": b, "r": r},
    "price": lambda p, k: {"p": p, "k": k, "r": p * k},
    "share": lambda r, k: {"a": r * k, "k": k, "r": r},
}
# The closed ranges of those two numbers: the toy data's, and the toy study's smaller ones.
TOY_RANGES = {"add": ((2, 60), (2, 40)), "sub": ((2, 30), (2, 40)), "price": ((2, 40), (2, 15)),
              "share": ((2, 30), (2, 10))}
STUDY_RANGES = {"add": ((2, 20), (2, 9)), "sub": ((2, 9), (2, 20)), "price": ((2, 9), (2, 5)),
                "share": ((2, 9), (2, 5))}


def _one_operation(template: str, rng: random.Random, ranges: dict) -> dict[str, int]:
    first, second = (rng.randint(low, high) for low, high in ranges[template])
    return _ONE_OPERATION[template](first, second)


def _draw_numbers(template: str, rng: random.Random) -> dict[str, int]:
    """The numbers of one problem; "r" is the answer (always >= 2, below 1000)."""
    ri = rng.randint
    if template in TOY_RANGES:
        return _one_operation(template, rng, TOY_RANGES)
    if template == "bags":
        a, k, m = ri(2, 30), ri(2, 6), ri(2, 10)
        km = k * m
        g = ri(2, min(20, a + km - 2))
        return {"a": a, "k": k, "m": m, "km": km, "s": a + km, "g": g, "r": a + km - g}
    if template == "save":
        p, d = ri(2, 25), ri(2, 10)
        t = p * d
        s = ri(2, t - 2)
        return {"p": p, "d": d, "t": t, "s": s, "r": t - s}
    raise ValueError(f"unknown toy template {template!r}; known: {', '.join(TEMPLATES)}")


def _split_of(template: str, numbers: dict[str, int]) -> str:
    """Train or test, from the problem's content alone, so the two splits never share a problem
    (a renamed copy with the same numbers counts as the same problem)."""
    key = template + ":" + ",".join(f"{k}={v}" for k, v in sorted(numbers.items()))
    return "test" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 5 == 0 else "train"


# --- rendering -----------------------------------------------------------------------------------
def _ru_count(n: int, forms: tuple[str, ...], accusative: bool = False) -> str:
    """'<n> <noun>' with Russian numeral agreement (forms: nom sg, acc sg, gen sg, gen pl)."""
    if n % 10 == 1 and n % 100 != 11:
        word = forms[1] if accusative else forms[0]
    elif n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        word = forms[2]
    else:
        word = forms[3]
    return f"{n} {word}"


def _fields(lang: str, name: int, item: int, numbers: dict[str, int]) -> dict[str, object]:
    fields: dict[str, object] = dict(numbers)
    fields.update(_ITEMS[lang][item])
    fields["N"] = _NAMES[lang][name]
    if lang == "es":
        fem = fields["fem"]
        fields.update(Un="Una" if fem else "Un", Cuantos="Cuántas" if fem else "Cuántos",
                      los="las" if fem else "los")
    elif lang == "fr":
        fields.update(Un="Une" if fields["fem"] else "Un",
                      de="d'" if str(fields["pl"])[0] in "aeiouœ" else "de ")
    elif lang == "ru":
        forms = fields["forms"]
        fields.update(NG=_RU_NAME_GEN[name], many=forms[3], One=forms[0].capitalize())
        for key, n in numbers.items():
            fields[f"{key}_it"] = _ru_count(n, forms)
            fields[f"{key}_ita"] = _ru_count(n, forms, accusative=True)
            fields[f"{key}_rub"] = _ru_count(n, _RU_RUBLE)
            fields[f"{key}_day"] = _ru_count(n, _RU_DAY)
            fields[f"{key}_bag"] = _ru_count(n, _RU_BAG)
    elif lang == "bn":
        fields["NG"] = fields["N"] + "র"  # all names end in a vowel: genitive -র
    return fields


def render(template: str, lang: str, numbers: dict[str, int], *, name: int = 0,
           item: int = 0) -> tuple[str, str]:
    """(question, solution) of one problem in one language; the solution ends in \\boxed{N}."""
    question, steps = _TEMPLATES[template][lang]
    fields = _fields(lang, name, item, numbers)
    final = f"{LITERALS[lang].answer_phrases[0]} \\boxed{{{numbers['r']}}}{_CLOSING[lang]}"
    gap = _SENTENCE_GAP.get(lang, " ")
    return question.format(**fields), f"{steps.format(**fields)}{gap}{final}"


# --- public API ----------------------------------------------------------------------------------
def _problems(n: int, seed: int, split: str) -> list[tuple[str, dict[str, int], int, int]]:
    """n distinct problems (template, numbers, name index, item index) of one split."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    rng = random.Random(f"xling-toy:{seed}:{split}")
    seen: set[tuple[str, tuple[int, ...]]] = set()
    problems: list[tuple[str, dict[str, int], int, int]] = []
    for _ in range(200 * n + 1000):
        if len(problems) == n:
            return problems
        template = rng.choice(TEMPLATES)
        numbers = _draw_numbers(template, rng)
        name, item = rng.randrange(4), rng.randrange(6)
        key = (template, tuple(sorted(numbers.items())))
        if key in seen or _split_of(template, numbers) != split:
            continue
        seen.add(key)
        problems.append((template, numbers, name, item))
    if len(problems) == n:
        return problems
    raise ValueError(f"could not draw {n} distinct toy problems for split {split!r}")


def toy_corpus(languages: Sequence[str] = STUDY_LANGUAGES, n: int = 200, seed: int = 0,
               split: str = "train") -> list[dict[str, str]]:
    """n problems told in each language: records in the real corpora's schema, grouped by
    language, then by problem. The same id has the same numbers and answer in every language."""
    return _told(_problems(n, seed, split), languages, f"toy-{split}-{seed}", SOURCE)


def _told(problems: list[tuple], languages: Sequence[str], prefix: str, source: str) -> list[dict[str, str]]:
    """Each problem told in each language: records grouped by language, then by problem, with
    ids ``<prefix>-<index>`` shared across languages."""
    unknown = [lang for lang in languages if lang not in _NAMES]
    if unknown:
        raise ValueError(f"no toy templates for {', '.join(unknown)}; known: {', '.join(_NAMES)}")
    records = []
    for lang in languages:
        for index, (template, numbers, name, item) in enumerate(problems):
            question, solution = render(template, lang, numbers, name=name, item=item)
            records.append({"id": f"{prefix}-{index:05d}", "lang": lang, "question": question,
                            "solution": solution, "answer": str(numbers["r"]), "source": source})
    return records


def iter_toy_texts(n: int = 300, seed: int = 0) -> Iterator[str]:
    """Text for training the tiny tokenizer: toy questions and solutions of both splits in every
    study language, plus the prompt words (instructions, answer phrases) of every language."""
    yield BOXED_INSTRUCTION
    for lit in LITERALS.values():
        yield " ".join((lit.question_word, lit.reason_in_language, *lit.answer_phrases))
    for split in SPLITS:
        for record in toy_corpus(STUDY_LANGUAGES, n=n, seed=seed, split=split):
            yield record["question"]
            yield record["solution"]


# --- the study in miniature: one-operation problems in three disjoint splits ---------------------
# The toy study (registry experiment `toy`) needs problems that a pretrained tiny model partially
# solves: one operation (add, subtract, times table, sharing) on small numbers. A problem is its
# story: template, numbers, name and item. Each falls in one split by that content alone, so the
# base model's pretraining text, the paradigms' training data and the held-out benchmark
# (toy_study_xling) never share a problem; small arithmetic facts (7 + 5) recur across splits, as
# they recur across the web.
STUDY_SPLITS = ("pretrain", "train", "test")
STUDY_TEMPLATES = ("add", "sub", "price", "share")


def _draw_study_numbers(template: str, rng: random.Random) -> dict[str, int]:
    if template not in STUDY_RANGES:
        raise ValueError(f"unknown study template {template!r}; known: {', '.join(STUDY_TEMPLATES)}")
    return _one_operation(template, rng, STUDY_RANGES)


def study_split_of(template: str, numbers: dict[str, int], name: int, item: int) -> str:
    """pretrain (40%), train (40%) or test (20%), from the problem's content alone."""
    key = f"study:{template}:{name}:{item}:" + ",".join(f"{k}={v}" for k, v in sorted(numbers.items()))
    bucket = int(hashlib.sha256(key.encode()).hexdigest(), 16) % 10
    return "test" if bucket < 2 else "train" if bucket < 6 else "pretrain"


def study_problems(n: int, seed: int, split: str, *, distinct: bool = True
                   ) -> list[tuple[str, dict[str, int], int, int]]:
    """n problems (template, numbers, name index, item index) of one split; ``distinct``: no two
    are the same problem (the benchmark), else drawn with repetition (pretraining text)."""
    if split not in STUDY_SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(STUDY_SPLITS)}")
    rng = random.Random(f"xling-toy-study:{seed}:{split}")
    seen: set[tuple] = set()
    problems: list[tuple[str, dict[str, int], int, int]] = []
    for _ in range(200 * n + 1000):
        if len(problems) == n:
            break
        template = rng.choice(STUDY_TEMPLATES)
        numbers = _draw_study_numbers(template, rng)
        name, item = rng.randrange(4), rng.randrange(6)
        key = (template, tuple(sorted(numbers.items())), name, item)
        if study_split_of(template, numbers, name, item) != split or (distinct and key in seen):
            continue
        seen.add(key)
        problems.append((template, numbers, name, item))
    if len(problems) != n:
        raise ValueError(f"could not draw {n} distinct study problems for split {split!r}")
    return problems


def toy_study_corpus(languages: Sequence[str] = STUDY_LANGUAGES, n: int = 200, seed: int = 0,
                     split: str = "train") -> list[dict[str, str]]:
    """n one-operation problems told in each language (the toy study's training data, and with
    ``split="test"`` its benchmark); the same id has the same numbers in every language."""
    return _told(study_problems(n, seed, split), languages, f"toy_study-{split}-{seed}", "toy_study")
