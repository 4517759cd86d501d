# ruff: noqa: E501 - long alternations of cue words read better unwrapped
"""Multilingual cue patterns for threats of violence (English, German, Arabic; other languages by adding a
block here).

Why patterns and not only a model: the labelled threat corpora available to the project are GPL or of
unknown licence, so a model trained on them cannot ship. What ships is this set of hand-written cues, in the
shape that threat-assessment practice describes: *who* (first person, a call on others), *will* (future,
modal, conditional, wish), *do what* (a violent verb or weapon), *to whom* (you, them, a named group or asset)
- and the cues that make the same words harmless (reporting, condemnation, idiom, fiction, past events).

Every pattern is written in readable script and compiled against :func:`bastion.text.normalize.fold`ed text
(Arabic alef/ya/ta-marbuta forms and diacritics folded, lower case), so the Arabic below may be written with
any spelling. Each cue has a *kind* (the feature it feeds in :mod:`bastion.threats.intent`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bastion.text.normalize import fold

# --- violent verbs and weapons -----------------------------------------------------------------------------
V_EN = (r"kill(?:s|ed|ing)?|murder\w*|shoot(?:s|ing)?|shot|stab(?:s|bed|bing|bings)?|behead\w*|decapitat\w*|slaughter\w*|"
        r"butcher\w*|hang(?:ed|ing|s)?|lynch\w*|bomb(?:s|ed|ing)?|blow\w* (?:\w+ )?up|burn(?:s|ed|t|ing)?|torch\w*|"
        r"execut(?:e|es|ed|ing|ion|ions|ioner)|strangl\w*|beat(?:s|ing)?|punch\w*|smack\w*|slap\w*|attack\w*|strike|assassin\w*|"
        r"massacr\w*|gas(?:sed|sing)?|exterminat\w*|eradicat\w*|annihilat\w*|wipe\w* (?:\w+ )?out|run\w* (?:\w+ )?over|ran (?:\w+ )?over|run'?(?:em|'em) over|"
        r"mow\w* (?:\w+ )?down|gun\w* (?:\w+ )?down|cut (?:off )?(?:his|her|their|your|its|ur) (?:head|throat)s?|"
        r"torture\w*|eliminat\w*|hunt\w* (?:\w+ )?down|stomp\w*|drown\w*|poison\w*|pepper spray\w*|"
        r"break (?:his|her|your|their|there|ur|ya) (?:neck|legs?|face|bones|skull|jaw)|bury (?:you|him|her|them)|"
        r"sterili[sz]e\w*|fire (?:\w+ )?rounds|put (?:\w+ )?(?:down|to death)|destroy\w*|genocide|nuke\w*|"
        r"rap(?:e|ed|es|ing)|chok(?:e|ed|es|ing)|bleach|set (?:\w+ )?on fire|ston(?:e|ed|ing)|abused?|"
        r"cut (?:off )?(?:your|his|her|their|ur) \w+|slit\w*|maim\w*|mutilat\w*|shank\w*|whoop\w*|"
        r"curb ?stomp\w*|put (?:a|one) bullet|bullet (?:in|into|through)|firing squad|guillotin\w*|gallows|"
        r"line (?:them|em|'em) up|kick (?:his|her|your|ur|their) (?:ass|butt)|beat the (?:shit|crap|hell)|"
        r"knock (?:him|her|you|them|u) out|blow (?:his|her|your|their) brains|burn (?:them|it|him|her) down|"
        r"string (?:them|him|her|em) up|chop(?:ped|ping)? (?:off )?(?:his|her|their|your|ur|its) heads?|skin (?:them|him|her) alive")
V_DE = (r"töt\w*|umbring\w*|umgebracht|bring\w* (?:\w+ ){0,3}um|erschie(?:ß|ss)\w*|erschossen|abknall\w*|"
        r"abgeknallt|knall\w* (?:\w+ ){0,3}ab|abschie(?:ß|ss)\w*|niederschie\w*|schie(?:ß|ss)(?:t|en|e)?|"
        r"ballern?|erschlag\w*|totschlag\w*|totgeschlagen|zusammenschlag\w*|verprügel\w*|prügel\w*|"
        r"aufhäng\w*|aufgehängt|häng\w* (?:\w+ ){0,3}auf|aufknüpf\w*|galgen\w*|vergas\w*|verbrenn\w*|"
        r"verbrannt|anzünd\w*|abfackel\w*|abstech\w*|erstech\w*|abgestochen|köpf\w*|spreng\w*|gesprengt|"
        r"in die luft (?:jagen|sprengen)|überfahr\w*|drüber ?fahr\w*|umfahr\w*|umhau\w*|ausrott\w*|"
        r"vernicht\w*|ausmerz\w*|liquidier\w*|abschlacht\w*|abmurks\w*|platt ?mach\w*|aufmisch\w*|"
        r"an die wand (?:stell\w*|gestellt)|kopf ab|knüppel\w*|steinig\w*|ersäuf\w*|ertränk\w*|"
        r"in die fresse|aufs maul|kalt ?mach\w*|totmach\w*|auspeitsch\w*|gehirn aus|schädel ein\w*|"
        r"vollgas|feuer frei|schie(?:ß|ss)befehl|schu(?:ß|ss)befehl|schusswaffe\w*|waffen?|folter\w*|"
        r"brech\w* (?:\w+ ){0,2}(?:beine|knochen|genick|nase)|zusamm?en ?schlag\w*|zusamenshlag\w*|"
        r"schlachtet|angezündet|an der wand|kz|gaskammer\w*|auge um auge|bis aufs blut|abgeschnitten|"
        r"häng\w* dich|zu schanden|hinricht\w*|hingerichtet|erhäng\w*|genickschu(?:ss|ß)\w*|bleiladung|am (?:nächsten )?baum (?:baumeln|hängen)|peitsch\w*|auf die rübe|umleg\w*|umniet\w*|erwürg\w*|aufschlitz\w*|niederbrenn\w*|"
        r"molotow\w*|brandsatz\w*|brandanschl\w*|ausräucher\w*|auslösch\w*|niedermetzel\w*|metzel\w*|"
        r"vermöbel\w*|verdresch\w*|zertret\w*|kopfschuss|kugel in den kopf|vergift\w*|lynchen|pogrom\w*")
V_AR = (r"[وف]?(?:[سحهب]|سوف ?|راح ?|رح ?)?[اني]?(?:قتل|ذبح|دبح|طعن|جلد|حرق|شنق|سحل|دعس|نسف|فجر(?:و|ه|هم)|"
        r"اغتال|نحر|صفي)\w*|[وف]?(?:[سحهب]|سوف ?)?[اني]?ضرب(?:ك|كم|ه|هم|ها|و|وا|وهم)\b|[وف]?[سحهب]?[ان]ضرب\w*|"
        r"قاتل\w*|سفاح\w*|تفجير\w*|انفجار|اغتيال\w*|محرق\w*|مجزر\w*|رصاص\w*|سكين|سكاكين|ساطور|مسدس|بندقي\w*|"
        r"[وف]?[سحهب]?[ان]?نفخ(?:ك|كم|ه|هم)\b|[وف]?[سحهب]?[ان]?(?:كفخ|طق|رفس|صفع|فقع|خنق|دوس)(?:ك|كم|ه|هم|ها)\b|"
        r"اعدام\w*|اعدمو\w*|[ينت]?رجم\w*|خنق\w*|اطلق\w* النار|ادفن\w*|عبو(?:ه|ات) ناسف\w*|حزام ناسف|مفخخ\w*|متفجر\w*|[يت]موت\w*|موتو|الموت ل\w*|رقب\w* |[يتن]?قطع\w* (?:راس|رقب)\w*|[اني]?(?:فقع|كسر|افتح|طير) (?:وجه|عين|راس|دماغ|رقب)\w*|[اني]?لطش(?:ك|كم|ه|ها|هم)\b|مردغ\w*")
# Words around violence that are not violent acts themselves: a weak cue that ranks angry talk of war,
# weapons and blood above ordinary text, without being enough to flag anything alone.
VWEAK_EN = (r"\b(?:war|wars|fight\w*|violen\w*|blood\w*|weapons?|guns?|military|army|riots?|die|dead|death|"
            r"hell|revenge|deport\w*|jail|prison|hurt\w*|harm\w*|suffer\w*|bullets?|knife|knives|explosi\w*|"
            r"take (?:them|him|her|em) out|machine ?guns?|deal with them|punish\w*)\b")
VWEAK_DE = (r"\b(?:gewalt|krieg\w*|bürgerkrieg|kampf\w*|kämpf\w*|blut\w*|panzer|militär|armee|wasserwerfer|"
            r"tränengas|pfefferspray|bewaffn\w*|rüstet|kampfbereit|jag(?:en|t)|abführen|kerker|einsperren|wehe|"
            r"rache|weg damit|raus mit|tot|schlag\w*|hau(?:en|t)|tret\w*|kehle|todesstrafe|terror\w*|anschlag\w*|"
            r"beseitig\w*|entsorg\w*|wegsperr\w*|säuber\w*|ausmist\w*|strick|messer|bombe)\b")
VWEAK_AR = (r"(?:^|\s)[وفبل]?(?:ال)?(?:دم|دماء|حرب|سلاح|موت|نار|جهنم|انتقام|كفوف|نعال|نعله|جزم\w*|سحب\w*|كف|بوكس|"
            r"عصا|ضرب|مشنق\w*|عذاب|تعذيب)\b")
WEAPON_EMOJI = "🔪🔫💣🗡⚔🪓💥🧨"
#: A raised fist reads as "I will hit you" in much Arabic and German posting: weak evidence, never enough alone.
FIST_EMOJI = "👊🤜🤛"

# --- who intends: first person + future / modal -------------------------------------------------------------
I_EN = (r"\b(?:i|we)(?: (?:will|shall|would|could|am going to|are going to|am gonna|are gonna|gonna|want to|"
        r"wanna|plan to|intend to|can'?t wait to|cant wait to|wish i could|will personally|might)|'ll|'d|'m gonna|"
        r"'m going to|'re going to|'re gonna|'m about to| am about to)\b|\b(?:ill|ima|imma|im gonna|i'?ma)\b")
I_DE = (r"\b(?:ich|wir) (?:\w+ ){0,2}?(?:werde|werden|würde|würden|will|wollen|möchte|möchten|könnte|könnten|"
        r"hätte lust|melde mich)\b|\b(?:werde|würde|will|möchte|könnte) ich\b|\b(?:werden|würden|wollen) wir\b|"
        r"\blass(?:t)? uns\b|\bich (?:\w+ )?(?:bring|schlag|hau|knall|stech|mach|box|töte|erschie\w*)\w* "
        r"(?:dich|euch)\b")
I_AR = (r"(?:^|\s)(?:[وف]?(?:س|سوف ?|راح ?|رح ?|ح|ه|ب)[ان](?:قتل|ذبح|دبح|طعن|ضرب|جلد|حرق|شنق|سحل|دعس|نسف|فجر|"
        r"نحر)\w*|(?:ودي|ابي|ابغي|نفسي|بودي|اتمني|اريد|نريد|لازم) ?[ان]?(?:قتل|ذبح|دبح|طعن|ضرب|جلد|حرق|شنق|سحل|"
        r"دعس|نسف|نحر|امسك)\w*|[ان](?:قتل|ذبح|دبح|طعن|ضرب|جلد|حرق|شنق|سحل|دعس|نحر|نفخ|كفخ)(?:ك|كم|كي)\b)")

# --- to whom: second person, them all ----------------------------------------------------------------------
YOU_EN = r"\b(?:you|u|ya|yall|y'all|your|ur|yourself|yourselves)\b"
YOU_DE = r"\b(?:du|dich|dir|euch|ihr|dein\w*|euer|eure\w*)\b"
YOU_AR = (r"(?:قتل|ذبح|دبح|طعن|ضرب|جلد|حرق|شنق|سحل|دعس|نسف|نحر|فجر|نفخ)(?:ك|كم|كي|ج)\b")
ALL_EN = r"\b(?:all|every|em all|them all|these|those|all of them|each one)\b"
ALL_DE = r"\b(?:alle|allesamt|jeden|jede|diese\w*|das pack|die bande)\b"
ALL_AR = r"(?:\w+وهم|\w+وهن|كلهم|جميعهم|كلكم)\b"

# --- incitement of others: imperatives, obligations, calls to cells ----------------------------------------
# A violent verb opening a clause is an imperative only in its base form: "Hanging out", "Shooting at LAX",
# "Kills 9" and "Shot from inside" open captions and headlines, not calls.
# And it has an object or ends the clause ("Shoot them", "Run them over!"), unlike a noun ("Torture of migrants").
_IMPERATIVE_ONLY = (r"(?<!ing)(?<!ed)(?<!shot)(?<!kills)(?<!bombs)(?<!attacks)(?<!shoots)(?<!strikes)(?<!burns)"
                    r"(?=\s*(?:[.!?,;]|$)|\s+(?:them|'?em|him|her|you|u|ya|y'?all|yourself|yourselves|urself|all|"
                    r"every\w*|each|those|these|the|that|this|his|their|its|it|us|some|any|an?|on sight)\b)")
INCITE_EN = (r"(?:^|[.!?\n;:,]\s*|\blet'?s (?:go )?|\bjust |\bsomeone |\bsomebody )(?:just |go |now )?"
             rf"(?:{V_EN})\b{_IMPERATIVE_ONLY}|\b(?:should|must|need to|needs to|ought to|gotta|have to|has to|deserve to)"
             r" (?:all |just |have |be |been |get |have been |all be |all get ){0,2}"
             r"(?:killed|shot|hanged|hung|lynched|executed|gassed|burned|burnt|beheaded|stabbed|bombed|"
             r"beaten|destroyed|eliminated|exterminated|annihilated|wiped out|run over|ran (?:them |em )?over|fired|sterili[sz]ed|die|be dead|"
             r"kill|shoot|hang|burn|beat|attack|strike|bomb|stab|execute)\b|"
             r"\b(?:lone wol(?:f|ves)|sleeper cells?|soldiers of|brothers?,? (?:rise|strike|attack)|rise up and|"
             r"take up arms|to arms|strike them|it'?s time to (?:kill|attack|strike|fight))\b")
INCITE_DE = (r"(?:^|[.!?\n;:,]\s*)(?:erschie(?:ß|ss)t|knallt|hängt|schlagt|tötet|bringt|verbrennt|sprengt|"
             r"zündet|fackelt|haut|prügelt|ballert|schie(?:ß|ss)t|stecht|setzt (?:\w+ )?(?:die )?waffen|"
             r"knüppel (?:raus|frei)|feuer frei|drauf|vollgas|drüber ?fahren|nicht (?:halten|anhalten|bremsen))\b|"
             r"\b(?:sollte|sollten|müsste|müssten|muss|müssen|gehör\w*|soll|darf|dürfte)"
             r" (?:\w+ ){0,4}?(?:erschossen|aufgehängt|vergast|verbrannt|getötet|erschlagen|umgebracht|"
             r"abgeknallt|gesprengt|aufgeknüpft|ausgerottet|vernichtet|hingerichtet|gelyncht|schie(?:ß|ss)en|erschie(?:ß|ss)en|"
             r"aufhängen|vergasen|verbrennen|töten|erschlagen|umbringen|sprengen|an die wand)\b|"
             r"\b(?:warum|wieso) (?:\w+ ){0,3}(?:schie(?:ß|ss)t|schlägt|knallt)\b")
INCITE_AR = (r"(?:^|\s)[وف]?ا?(?:قتل|ذبح|دبح|طعن|اضرب|ضرب|جلد|حرق|شنق|سحل|دعس|نسف|فجر|نحر|استهدف)(?:و|وا|وهم|"
             r"وها|وه)\b|(?:^|\s)ا(?:قتل|ذبح|دبح|جلد|حرق|شنق|سحل|دعس|ضرب|طعن)(?:هم|ه|ها|هن)\b|يجب (?:قتل|ذبح|حرق|شنق|اعدام)|(?:الخلايا|خلايا|خلايانا) النائم\w*|الذئاب المنفرد\w*|"
             r"ذئب منفرد|يا (?:جنود|اسود|ذئاب|ابطال|انصار|اخوه|اخوتي|شباب) \w+|انفروا|هبوا|الي الجهاد|جاهدوا")

# --- wishes of death and harm --------------------------------------------------------------------------------
WISH_EN = (r"\b(?:hope|wish|pray)\w* (?:\w+ ){0,3}(?:die|dies|dead|death|killed|shot|hanged|burns?|gets? hit)\b|"
           r"\bdeath to\b|\bkill (?:your|ur)sel(?:f|ves)\b|\bkys\b|\bgo die\b|\b(?:should|must|need to|needs to|"
           r"deserves? to) (?:all )?(?:die|be dead|rot)\b|\bwish (?:you|u|them) (?:death|dead)\b|\bdie,? die\b|\bdie,? (?:scum|pigs?|bitch\w*|bastards?|infidels?|traitors?|kafirs?|nazis?|commies) die\b|"
           r"\bdie (?:in|to) hell\b|\bmust be dead\b")
WISH_DE = (r"\b(?:hoffe|wünsche|wünsch)\w* (?:\w+ ){0,4}(?:stirbt|sterben|tot|verreck\w*|krepier\w*)\b|"
           r"\bverreck\w*|\bkrepier\w*|\b(?:sollen|werden|sollten) (?:\w+ )?(?:alle )?sterben\b|\btod (?:den|dem|allen)\b|\b(?:erhäng|häng)\w* dich(?: auf)?\b")
WISH_AR = r"عسي (?:الله )?\w*(?:يموت|تموت|ياخذ)|الله ياخذ\w*|(?:بط|كسر) الله راس\w*|الموت (?:ل|الي)\w*|تستاهل (?:الموت|الذبح)|(?:جعل|الهي)(?:ه|ك|هم|كم)? (?:الله )?[يت]?(?:موت|قطع|حرق|ولع|نقلع|كسر|ذبح|قتل)\w*"

# --- conditional and veiled threats ------------------------------------------------------------------------
COND_EN = (r"\b(?:if|unless)\b[^.!?\n]{0,140}?\b(?:i|we|you)(?: will|'ll| would|'d| shall| are going to| am going to|"
           r" are gonna)\b|\bif (?:you|u|they) (?:do not|don't|dont|won't|continue|keep)\b|"
           r"\bif i (?:ever )?(?:get|see|find|catch|had|was|were)\b")
COND_DE = (r"\b(?:wenn|falls|sollte)\b[^.!?\n]{0,140}?\b(?:werde|werden|würde|würden|dann)\b")
COND_AR = r"(?:^|\s)(?:ان لم|اذا لم|اذا ما|لو ما|ان ما|لو لم|ان استمر\w*|اذا استمر\w*|لو (?:شفت|حصل|جا))"
VEILED_EN = (r"\b(?:watch (?:your|ur|yer) back|watch over (?:himself|herself|themselves|yourselves|yourself)|"
             r"on (?:his|her|your|their) (?:own )?doorstep|lone (?:assassin|wolf|wolves)|"
             r"we know where (?:you|u) (?:live|work|sleep)|(?:your|ur) days are numbered|"
             r"(?:you|u|they)(?: will|'ll) (?:pay|regret)|you(?: have|'ve) been warned|sleep with one eye open|"
             r"(?:only )?a matter of time|(?:won'?t|will not|never) be safe|not safe anymore|we(?: are|'re) coming|"
             r"coming for (?:you|u|them)|(?:you'?re|you are|ur) next|(?:your|ur) turn will come|"
             r"the day will come|be afraid|waiting for (?:you|him|her|them)|your blood)\b")
VEILED_DE = (r"\b(?:wir wissen,? wo (?:du|ihr) (?:wohnst|wohnt)|(?:deine|eure) tage sind gezählt|"
             r"(?:du wirst|ihr werdet) (?:es )?(?:bereuen|bezahlen|büßen|sehen)|euer ende|"
             r"(?:das|es) wird (?:euch|dir) (?:noch )?leid tun|es wird (?:\w+ ){0,2}tote (?:\w+ )?geben|wir kriegen (?:dich|euch)|wir kommen)\b")
VEILED_AR = (r"(?:امام|عند|علي عتبه) (?:بابه|بيته|منزله|بابك|بيتك|بيوتهم|بيوتكم)|قاتل منفرد|ينتظر(?:ه|ك|هم|كم)|"
             r"انتظرو(?:ا|نا)?|قادمون|قادمين|جايينكم|ستدفعون الثمن|ستندمون|نعرف (?:اين|وين|فين) |"
             r"فليحذر|ليحذر|احذروا|ان يحذر\w*|اياكم|قايمه اغتيالات")

# --- what makes the same words harmless -------------------------------------------------------------------------
REPORT_EN = (r"\b(?:said|says|told|according to|reported\w*|reports?|threaten(?:ed|s|ing)?|threats?|warned|"
             r"claim\w*|posted|tweeted|wrote|breaking|news|police|authorities|officials?|spokes\w*|investigat\w*|"
             r"arrested|charged|statement|headline|journalists?|reporters?|via|quot\w*|allegedly)\b")
REPORT_DE = (r"\b(?:sagte|sagt|laut|berichte\w*|zufolge|drohte\w*|drohung\w*|bedroh\w*|polizei (?:meldet|teilt)|"
             r"nach angaben|meldung|festgenommen|ermittl\w*)\b")
REPORT_AR = (r"(?:^|\s)[وف]?(?:قال|قالت|يقول|صرح|افاد|افادت|بحسب|وفقا|نقلا|ذكرت|ذكر|اعلن|اعلنت|عاجل|هدد|يهدد|تهدد|"
             r"هددت|تهديد\w*|تغريد\w*|نشر|نشرت|صحيف\w*|وكال\w*|مراسل\w*|مصادر|الشرطه|السلطات)\b")
CONDEMN_EN = (r"\b(?:condemn\w*|horrific|horrible|disgusting (?:attack|act|threat)\w*|shameful|"
              r"thoughts and prayers|rip|r\.i\.p|rest in peace|stand with|solidarity|no place for|unacceptable|"
              r"against violence|stop the violence|violence is never|never the answer|pray for|sickening|"
              r"cowardly|outrage\w*)\b")
CONDEMN_DE = r"\b(?:verurteil\w*|schrecklich\w*|entsetz\w*|abscheulich\w*|mitgefühl|beileid|ruhe in frieden)\b"
CONDEMN_AR = r"(?:^|\s)[وف]?(?:ندين|نستنكر|ادان\w*|يدين|تدين|استنكار|استنكر\w*|نرفض|نتضامن|تضامن\w*)"
HYPER_EN = (r"\b(?:(?:could|would|i'?d) (?:kill|murder) for|kill(?:ing|ed|s)? it|kill(?:ing)? (?:time|the mood|the vibe)|"
            r"dying (?:to|for)|to die for|(?:bored|scared|loved?|tickled) (?:\w+ )?to death|die (?:laughing|of laughter)|"
            r"killing me|kill me now|i'?m dead|lmao|lmfao|killer (?:app|feature|deal|song|look)|"
            r"bomb(?:ed)? (?:the|my|an?) (?:exam|test|interview|audition)|da bomb|shoot (?:me )?(?:a|an) "
            r"(?:message|email|text|dm)|shoot for|shoot (?:a|the) (?:video|film|scene|photo)|photo shoot|"
            r"slay(?:ed|ing|s)?|beat (?:the|my|his|her|their) (?:record|score|time|traffic|heat|odds)|"
            r"beat (?:me|them|us|him|her) (?:at|in|to)|attack on titan|heart attack|panic attack|"
            r"killer whale|smash(?:ed)? it)\b")
HYPER_DE = r"\b(?:totlach\w*|zum totlachen|ich sterbe vor|bombe!|bombig|der hammer|killerwal)\b"
FICTION_EN = (r"\b(?:game|gaming|gamer|level|boss|quest|raid|respawn|npc|fortnite|minecraft|call of duty|gta|pubg|"
              r"warzone|overwatch|character|novel|movie|film|episode|season|chapter|plot|scene|fanfic|script|"
              r"trailer|zombies?|dragons?|play(?:ing)? as|in-game|spoilers?)\b")
FICTION_DE = r"\b(?:spiel|spielen|zocken|film|roman|folge|serie|level|tatort)\b"
FICTION_AR = r"(?:^|\s)(?:لعبه|العاب|فلم|فيلم|مسلسل|روايه|حلقه|ببجي|فورتنايت)"
PAST_EN = (r"\b(?:was|were|been|got|had been|have been|has been) (?:\w+ )?(?:killed|shot|stabbed|murdered|beheaded|"
           r"hanged|bombed|attacked|executed|gassed|lynched|burned)\b|\b(?:yesterday|last (?:night|week|year|month)|"
           r"years ago|decades ago|back in|in (?:19|20)\d\d|history|historical)\b|"
           r"\b(?:he|she|they|police|gunman|attacker|suspect|terrorists?|militants?|soldiers?|man|woman) (?:\w+ )?"
           r"(?:killed|shot|stabbed|murdered|attacked|bombed|executed|beheaded)\b")
PAST_DE = (r"\b(?:wurden?|worden) (?:\w+ ){0,3}(?:getötet|erschossen|erstochen|ermordet|angegriffen|verletzt)\b|"
           r"\b(?:gestern|damals|vor \w+ jahren|im jahr (?:19|20)\d\d)\b")
PAST_AR = r"(?:^|\s)(?:امس|لقي حتفه|مقتل|قتلي|مصرع|استشهد\w*|اسفر\w*|في عام)"
NEG_EN = (r"\b(?:never|not|don'?t|dont|didn'?t|won'?t|wouldn'?t|no one|nobody|do not|would not|will not)"
          r" (?:\w+ ){0,2}?(?:want to |wanna |going to |gonna )?(?:" + V_EN + r")\b")
NEG_DE = r"\b(?:nicht|nie|niemals|niemand|kein\w*) (?:\w+ ){0,2}?(?:" + V_DE + r")\b"
NEG_AR = r"(?:^|\s)(?:لا|ما|لن|لم|مش|مو) (?:[اني]?(?:قتل|ذبح|طعن|ضرب|حرق))"

# --- aggression, a weak tie-breaker -----------------------------------------------------------------------------
AGGR = (r"\b(?:fuck\w*|shit\w*|bitch\w*|bastard\w*|asshole\w*|cunt\w*|prick\w*|scum\w*|pigs?|idiot\w*|retard\w*|"
        r"moron\w*|trash|animals|vermin|subhuman\w*|savages?|faggot\w*|nigg\w*|whore\w*|stfu|piece of|"
        r"scheiß\w*|scheiss\w*|arsch\w*|hurensohn\w*|fotze\w*|wichser\w*|dreck\w*|pack|gesindel|abschaum|ratten|"
        r"schwein\w*|vollidiot\w*|penner|kanaken?|neger\w*|schmarotzer\w*|viecher|fresse|verpiss\w*|"
        r"mistst\w*|volksverräter\w*|gutmensch\w*)\b|(?:^|\s)(?:كلب|كلاب|حمار|حقير|زق|خرا|تفو|يلعن|لعن\w*|وسخ|"
        r"قذر\w*|حيوان\w*|خنزير|عاهر\w*|شرموط\w*|منيوك|زبال\w*|واطي|نذل)")
AGGR_EMOJI = "😡🤬😠👞💢🖕☠💀🩸"

# --- laughter: the same words said as a joke -------------------------------------------------------------------
LAUGH = (r"(?:\b(?:lol|lmao|lmfao|rofl|haha\w*|hehe\w*|jk|just kidding|kidding|xd|witz|scherz\w*)\b|:d\b|"
         r"(?:^|\s)(?:ه{3,}|خ{3,})|😂|🤣|😹|😜|😝)")


@dataclass(frozen=True, slots=True)
class Cue:
    kind: str
    lang: str
    regex: re.Pattern[str]


def _c(kind: str, lang: str, pattern: str) -> Cue:
    # Patterns are folded like the text they run on (casefold turns "ß" into "ss", Arabic letter forms merge);
    # they use only lower-case escapes (\\b \\w \\s), which folding leaves intact.
    return Cue(kind, lang, re.compile(fold(pattern), re.MULTILINE))


#: Every cue, in one flat list; :mod:`bastion.threats.intent` turns matches into features.
CUES: tuple[Cue, ...] = (
    _c("violence", "en", rf"\b(?:{V_EN})\b"),
    _c("violence", "de", rf"\b(?:{V_DE})\b"),
    _c("violence", "ar", V_AR),
    _c("violence", "any", "[" + WEAPON_EMOJI + "]"),
    _c("violence_weak", "any", "[" + FIST_EMOJI + "]"),
    _c("violence_weak", "en", VWEAK_EN),
    _c("violence_weak", "de", VWEAK_DE),
    _c("violence_weak", "ar", VWEAK_AR),
    _c("intent", "en", I_EN),
    _c("intent", "de", I_DE),
    _c("intent", "ar", I_AR),
    _c("you", "en", YOU_EN),
    _c("you", "de", YOU_DE),
    _c("you_obj", "ar", YOU_AR),
    _c("all", "en", ALL_EN),
    _c("all", "de", ALL_DE),
    _c("all", "ar", ALL_AR),
    _c("incite", "en", INCITE_EN),
    _c("incite", "de", INCITE_DE),
    _c("incite", "ar", INCITE_AR),
    _c("wish", "en", WISH_EN),
    _c("wish", "de", WISH_DE),
    _c("wish", "ar", WISH_AR),
    _c("conditional", "en", COND_EN),
    _c("conditional", "de", COND_DE),
    _c("conditional", "ar", COND_AR),
    _c("veiled", "en", VEILED_EN),
    _c("veiled", "de", VEILED_DE),
    _c("veiled", "ar", VEILED_AR),
    _c("reporting", "en", REPORT_EN),
    _c("reporting", "de", REPORT_DE),
    _c("reporting", "ar", REPORT_AR),
    _c("condemnation", "en", CONDEMN_EN),
    _c("condemnation", "de", CONDEMN_DE),
    _c("condemnation", "ar", CONDEMN_AR),
    _c("hyperbole", "en", HYPER_EN),
    _c("hyperbole", "de", HYPER_DE),
    _c("fiction", "en", FICTION_EN),
    _c("fiction", "de", FICTION_DE),
    _c("fiction", "ar", FICTION_AR),
    _c("past", "en", PAST_EN),
    _c("past", "de", PAST_DE),
    _c("past", "ar", PAST_AR),
    _c("negation", "en", NEG_EN),
    _c("negation", "de", NEG_DE),
    _c("negation", "ar", NEG_AR),
    _c("aggression", "any", AGGR),
    _c("aggression", "any", "[" + AGGR_EMOJI + "]"),
    _c("laughter", "any", LAUGH),
)

#: Quotation marks that turn a sentence into a quotation (with a reporting cue, the post is reporting).
QUOTES = "\"“”„«»‹›‚‘’「」"
