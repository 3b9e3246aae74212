//! Spanish intent words (folded: no accents, ñ as "n").

use super::lexicon::Lexicon;

#[rustfmt::skip]
pub static WORDS: Lexicon = Lexicon {
    opt_out: &[
        "no me escribas mas", "no me escriban mas", "dejen de escribirme", "deja de escribirme", "dejen de enviarme",
        "deja de enviarme", "dejen de mandarme", "no quiero mas mensajes", "no quiero recibir mensajes", "no mas mensajes",
        "darme de baja", "dar de baja", "cancelar suscripcion", "cancelar mi suscripcion", "desuscribir*",
        "no me envien mas", "no me manden mas",
    ],
    person_verbs: &["hablar con", "comunicarme con", "contactar con", "pasame con", "pasenme con", "ponerme con", "atienda"],
    person_nouns: &["una persona", "alguien", "un humano", "un agente", "un asesor", "una asesora", "un encargado", "el encargado", "el gerente", "un responsable", "un operador", "una persona real"],
    person: &[
        "persona real", "humano real", "atencion al cliente", "servicio al cliente", "un asesor por favor",
        "llamenme", "llamame", "me pueden llamar", "me puedes llamar", "eres un bot", "es un bot", "eres un robot",
        "eres una maquina",
    ],
    complaint: &[
        "roto", "rota", "rotos", "rotas", "se rompio", "llego roto", "danado*", "defectuoso*", "no funciona",
        "producto equivocado", "pedido equivocado", "me enviaron otro", "equivocado", "incorrecto", "me falta*",
        "falta un*", "falta una*", "faltan*", "faltaba*", "reembolso*", "devolucion*", "devolver*", "quiero mi dinero",
        "mi dinero de vuelta", "reclamacion*", "reclamo", "queja*", "quejarme", "estafa*", "pesimo", "horrible",
        "decepcion*", "derramado", "se derramo",
    ],
    prevention: &["como evito", "como evitar", "como puedo evitar", "como prevenir"],
    order: &[
        "donde esta mi pedido", "donde esta mi paquete", "donde esta mi orden", "donde esta mi compra",
        "no ha llegado", "no me ha llegado", "no llego", "no me llego", "todavia no llega", "aun no llega",
        "cuando llega*", "cuando va a llegar", "cuando me llega*", "cuando lo envian", "seguimiento", "numero de rastreo",
        "rastreo", "rastrear", "estado de mi pedido", "estado del pedido", "ya fue enviado", "ya lo enviaron",
    ],
    greeting: &["hola", "buenas", "buenos", "gracias", "saludos", "holi", "holis"],
    greeting_filler: &["dias", "tardes", "noches", "muchas", "mil", "muchisimas", "ok", "vale", "genial", "perfecto", "a", "todos", "por", "todo", "la", "info", "ayuda", "super"],
    small_talk: &["que tal", "como estas", "como esta", "como estan"],
    question: &[
        "como", "que", "cual", "cuales", "cuanto*", "cuanta*", "cuando", "por que", "puedo", "se puede", "debo",
        "tiene", "lleva", "contiene", "sirve", "es apto", "es seguro",
    ],
};
