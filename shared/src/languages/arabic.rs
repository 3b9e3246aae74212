//! Arabic (العربية), in Modern Standard Arabic as shops write to customers.
//!
//! The opt-out and opt-in words are written folded (see [`super::fold`]): no diacritics or
//! tatweel, every alef written ا, final ة as ه, final ى and ئ as ي, ؤ as و, so "إيقاف",
//! "ايقاف" and "إيـقَـاف" are one word.

use super::{OrderPhrases, Phrases};

pub static PHRASES: Phrases = Phrases {
    greeting: "مرحبًا! معك {store}. اسألني عن أي شيء يخص منتجاتنا أو طلبك.",
    how_to_opt_out: "لإيقاف رسائلنا، أرسل كلمة «إيقاف».",
    person_will_reply: "بالتأكيد. سيرد عليك أحد أفراد فريقنا هنا في أقرب وقت ممكن.",
    complaint_passed_on: "يؤسفنا سماع ذلك. لقد أحلت رسالتك إلى فريقنا، وسيرد عليك أحدهم هنا قريبًا.",
    dont_know: "عذرًا، لا أعرف الإجابة عن ذلك. سيتابع معك أحد أفراد فريقنا هنا.",
    order_not_found: "لم أجد طلبًا بهذا الرقم. سيتحقق أحد أفراد فريقنا من الأمر ويرد عليك هنا.",
    no_medical_advice: "لا يمكنني تقديم نصيحة طبية. إذا ظهر لديك أي تفاعل، فتوقف عن استخدام المنتج واستشر طبيبًا \
                        أو صيدليًا. وسيتابع معك أيضًا أحد أفراد فريقنا هنا.",
    no_discounts: "لا يمكنني تقديم خصومات أو تغيير الأسعار هنا. سيتابع معك أحد أفراد فريقنا.",
    beyond_the_label: "لأي شيء يتجاوز ما هو مكتوب على الملصق، يُرجى استشارة طبيبك أو الصيدلي. وسيتابع معك أيضًا أحد \
                       أفراد فريقنا.",
    only_your_orders: "عذرًا، يمكنني التحدث عن طلباتك أنت فقط.",
    only_store_topics: "يمكنني المساعدة فقط في الأسئلة المتعلقة بمنتجات {store} وطلباتك.",
    opted_out: "لن تصلك رسائل أخرى من {store}. أرسل «ابدأ» لإعادة الاشتراك.",
    opted_in: "ستصلك رسائل من {store} مجددًا. أرسل «إيقاف» في أي وقت لإلغاء الاشتراك.",
    orders: OrderPhrases {
        date_format: "%d/%m/%Y",
        delivered_on: "تم توصيل طلبك {number} بتاريخ {date}.",
        delivered: "تم توصيل طلبك {number}.",
        shipped_on: "تم شحن طلبك {number} بتاريخ {date} وهو في الطريق إليك.",
        shipped: "تم شحن طلبك {number} وهو في الطريق إليك.",
        preparing: "تم تأكيد طلبك {number} ويجري تجهيزه للشحن.",
        cancelled: "تم إلغاء طلبك {number}.",
        refunded: "تم استرداد مبلغ طلبك {number}.",
        other: "حالة طلبك {number}: {status}.",
    },
    stop_words: &[
        "ايقاف",
        "توقف",
        "اوقف",
        "قف",
        "الغاء",
        "الغاء الاشتراك",
        "ستوب",
        "ايقاف الرسايل",
        "اوقف الرسايل",
        "لا اريد رسايل",
        "لا ترسل لي رسايل",
        "لا ترسلوا لي رسايل",
        "لا تراسلني",
    ],
    start_words: &["ابدا", "بدء", "اشتراك", "تفعيل"],
    stop_buttons: &["ايقاف العروض الترويجيه", "ايقاف العروض"],
};
