//! Turkish (Türkçe).

use super::{OrderPhrases, Phrases};

pub static PHRASES: Phrases = Phrases {
    greeting: "Merhaba! Burası {store}. Ürünlerimiz ya da siparişiniz hakkında her şeyi sorabilirsiniz.",
    how_to_opt_out: "Bizden mesaj almayı bırakmak için DUR yazmanız yeterli.",
    person_will_reply: "Elbette. Ekibimizden biri en kısa sürede buradan yanıt verecek.",
    complaint_passed_on: "Bunu duyduğuma üzüldüm. Mesajınızı ekibimize ilettim; biri yakında buradan yanıt verecek.",
    dont_know: "Üzgünüm, bunun cevabını bilmiyorum. Ekibimizden biri buradan size dönecek.",
    order_not_found: "Bu numarayla bir sipariş bulamadım. Ekibimizden biri inceleyip buradan yanıt verecek.",
    no_medical_advice: "Tıbbi tavsiye veremem. Bir reaksiyon olursa ürünü kullanmayı bırakın ve bir doktora ya da \
                        eczacıya danışın. Ekibimizden biri de buradan size dönecek.",
    no_discounts: "Buradan indirim yapamam ya da fiyat değiştiremem. Ekibimizden biri size dönecek.",
    beyond_the_label: "Etikette yazanların ötesindeki her şey için lütfen doktorunuza ya da eczacınıza danışın. Ekibimizden biri de size dönecek.",
    only_your_orders: "Üzgünüm, yalnızca kendi siparişleriniz hakkında konuşabilirim.",
    only_store_topics: "Yalnızca {store} ürünleri ve siparişleriniz hakkındaki sorularda yardımcı olabilirim.",
    opted_out: "{store} artık size mesaj göndermeyecek. Yeniden almak için BAŞLAT yazın.",
    opted_in: "{store} size yeniden mesaj gönderecek. İstediğiniz zaman DUR yazarak durdurabilirsiniz.",
    orders: OrderPhrases {
        date_format: "%d.%m.%Y",
        delivered_on: "{number} numaralı siparişiniz {date} tarihinde teslim edildi.",
        delivered: "{number} numaralı siparişiniz teslim edildi.",
        shipped_on: "{number} numaralı siparişiniz {date} tarihinde kargoya verildi ve yolda.",
        shipped: "{number} numaralı siparişiniz kargoya verildi ve yolda.",
        preparing: "{number} numaralı siparişiniz onaylandı ve gönderim için hazırlanıyor.",
        cancelled: "{number} numaralı siparişiniz iptal edildi.",
        refunded: "{number} numaralı siparişinizin ücreti iade edildi.",
        other: "{number} numaralı siparişinizin durumu: {status}.",
    },
    stop_words: &[
        "dur",
        "durdur",
        "iptal",
        "abonelikten cik",
        "mesaj gonderme",
        "mesaj atmayin",
        "beni listeden cikar",
    ],
    start_words: &["baslat", "basla"],
    stop_buttons: &["promosyonlari durdur"],
};
