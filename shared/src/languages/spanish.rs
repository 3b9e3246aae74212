//! Spanish (español).

use super::{OrderPhrases, Phrases};

pub static PHRASES: Phrases = Phrases {
    greeting: "¡Hola! Somos {store}. Pregúntame lo que quieras sobre nuestros productos o tu pedido.",
    how_to_opt_out: "Para dejar de recibir mensajes nuestros, responde BAJA.",
    person_will_reply: "Claro. Una persona de nuestro equipo te responderá aquí lo antes posible.",
    complaint_passed_on: "Siento mucho oír eso. He pasado tu mensaje a nuestro equipo y una persona te responderá \
                          aquí pronto.",
    dont_know: "Lo siento, no sé la respuesta. Una persona de nuestro equipo te responderá aquí.",
    order_not_found: "No encontré ningún pedido con ese número. Una persona de nuestro equipo lo revisará y te \
                      responderá aquí.",
    no_medical_advice: "No puedo dar consejo médico. Si tienes una reacción, deja de usar el producto y consulta a \
                        un médico o farmacéutico. Una persona de nuestro equipo también te responderá aquí.",
    no_discounts: "No puedo ofrecer descuentos ni cambiar precios aquí. Una persona de nuestro equipo te responderá.",
    beyond_the_label: "Para cualquier cosa que vaya más allá de lo que dice la etiqueta, consulta a tu médico o farmacéutico. Una persona de nuestro equipo también te responderá.",
    only_your_orders: "Lo siento, solo puedo hablar de tus propios pedidos.",
    only_store_topics: "Solo puedo ayudarte con preguntas sobre los productos de {store} y tus pedidos.",
    opted_out: "Ya no recibirás más mensajes de {store}. Responde ALTA para volver a recibirlos.",
    opted_in: "Volverás a recibir mensajes de {store}. Responde BAJA cuando quieras para dejar de recibirlos.",
    orders: OrderPhrases {
        date_format: "%d/%m/%Y",
        delivered_on: "Tu pedido {number} se entregó el {date}.",
        delivered: "Tu pedido {number} ya se entregó.",
        shipped_on: "Tu pedido {number} se envió el {date} y está en camino.",
        shipped: "Tu pedido {number} ya se envió y está en camino.",
        preparing: "Tu pedido {number} está confirmado y lo estamos preparando para el envío.",
        cancelled: "Tu pedido {number} se canceló.",
        refunded: "Tu pedido {number} se reembolsó.",
        other: "Estado de tu pedido {number}: {status}.",
    },
    stop_words: &["baja", "alto", "parar", "detener", "cancelar", "darme de baja", "no mas mensajes"],
    start_words: &["alta", "reanudar", "suscribir"],
    stop_buttons: &["detener promociones", "parar promociones"],
};
